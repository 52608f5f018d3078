//! Gemba walks (docs/walks.md, issue #18): a leader goes to where the work is on a standard
//! **route** (an ordered list of stops, each a board and optionally an asset) and asks the same
//! **questions** at each stop. A **walk** is one time the route is walked: each stop visited
//! (answers and observations) or skipped with a reason; an observation can become an action on
//! that stop's board, linked back to the walk. Rules only, on plain data; the store keeps the
//! rows and `Walker` writes them.

use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
use crate::store::{Leader, Route, RouteWrite, Store, StoreError, Walk};

/// The questions of a route that does not set its own (Toyota's three of the gemba walk).
pub const DEFAULT_QUESTIONS: [&str; 3] = [
    "Is the work running to standard?",
    "What problems came up since my last visit?",
    "What stops this team from improving?",
];

const MAX_STOPS: usize = 20;
pub const MAX_QUESTIONS: usize = 10;
const MAX_TEXT: usize = 200;
const MAX_ANSWER: usize = 1000;
pub const MAX_OBSERVATIONS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{field} is required")]
    Missing { field: String },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    #[error("{field}: {message}")]
    Bad { field: String, message: String },
    #[error("leader: no leader {0}")]
    NoSuchLeader(i64),
    #[error("no route {0}")]
    NoSuchRoute(i64),
    #[error("no walk {0}")]
    NoSuchWalk(i64),
    #[error("route {0} is paused; resume it to walk it")]
    Paused(i64),
    #[error("walk {0} has ended")]
    Ended(i64),
    #[error("stop {stop} of walk {walk} was {state} already")]
    StopDone {
        walk: i64,
        stop: usize,
        state: &'static str,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Action(#[from] crate::actions::ActionError),
}

fn text(field: &str, v: &str, max: usize) -> Result<String, WalkError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(WalkError::Missing {
            field: field.to_string(),
        });
    }
    if v.chars().count() > max {
        return Err(WalkError::TooLong {
            field: field.to_string(),
            max,
        });
    }
    Ok(v.to_string())
}

/// A stop of a route: a board (where an observation's action goes), optionally an asset, and
/// what the leader looks at there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Stop {
    /// A board key: plant, site:NAME, area:NAME or crew:NAME.
    pub board: String,
    /// An asset id of the orders, or empty.
    #[serde(default)]
    pub asset: String,
    /// What to look at: "Filler 3, guards and changeover board".
    pub label: String,
}

/// A stop as a form or the API sends it.
#[derive(Debug, Clone, Default)]
pub struct StopDraft {
    pub board: String,
    pub asset: String,
    pub label: String,
}

/// What a person types for a route.
#[derive(Debug, Clone, Default)]
pub struct RouteDraft {
    pub title: String,
    /// The leader who walks it (a number).
    pub leader: String,
    /// Blank rows (no label, no asset) are dropped.
    pub stops: Vec<StopDraft>,
    /// One a line; none means [`DEFAULT_QUESTIONS`].
    pub questions: String,
    pub active: bool,
}

/// Checks a route: a title, its leader among `leaders`, 1 to 20 stops on boards of the config,
/// 1 to 10 questions (the default three when none is given).
pub fn check_route(
    cfg: &Config,
    d: &RouteDraft,
    leaders: &[Leader],
) -> Result<RouteWrite, WalkError> {
    let leader_id: i64 = d.leader.trim().parse().map_err(|_| WalkError::Bad {
        field: "leader".into(),
        message: format!("`{}` is not a leader's number", d.leader),
    })?;
    if !leaders.iter().any(|l| l.id == leader_id) {
        return Err(WalkError::NoSuchLeader(leader_id));
    }
    let mut stops = Vec::new();
    for (i, s) in d.stops.iter().enumerate() {
        if s.label.trim().is_empty() && s.asset.trim().is_empty() {
            continue;
        }
        let field = |f: &str| format!("stops[{i}].{f}");
        let board = crate::actions::board(cfg, &s.board)
            .map_err(|_| WalkError::Bad {
                field: field("board"),
                message: format!(
                    "no board `{}`; boards are plant, site:NAME, area:NAME or crew:NAME of the config",
                    s.board.trim()
                ),
            })?
            .key();
        let asset = s.asset.trim();
        if asset.chars().count() > 80 {
            return Err(WalkError::TooLong {
                field: field("asset"),
                max: 80,
            });
        }
        let label = if s.label.trim().is_empty() {
            asset.to_string()
        } else {
            text(&field("label"), &s.label, MAX_TEXT)?
        };
        stops.push(Stop {
            board,
            asset: asset.to_string(),
            label,
        });
    }
    if stops.is_empty() || stops.len() > MAX_STOPS {
        return Err(WalkError::Bad {
            field: "stops".into(),
            message: format!(
                "{} stops; a route has 1 to {MAX_STOPS}, each a board and what to look at",
                stops.len()
            ),
        });
    }
    let mut questions: Vec<String> = d
        .questions
        .lines()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_string)
        .collect();
    if questions.is_empty() {
        questions = DEFAULT_QUESTIONS.iter().map(|q| q.to_string()).collect();
    }
    if questions.len() > MAX_QUESTIONS {
        return Err(WalkError::Bad {
            field: "questions".into(),
            message: format!("{} questions; at most {MAX_QUESTIONS}", questions.len()),
        });
    }
    if questions.iter().any(|q| q.chars().count() > MAX_TEXT) {
        return Err(WalkError::TooLong {
            field: "questions".into(),
            max: MAX_TEXT,
        });
    }
    Ok(RouteWrite {
        title: text("title", &d.title, MAX_TEXT)?,
        leader_id,
        stops,
        questions,
        active: d.active,
    })
}

/// Where a stop of a walk is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StopState {
    Pending,
    Visited,
    Skipped,
}

impl StopState {
    pub fn as_str(self) -> &'static str {
        match self {
            StopState::Pending => "pending",
            StopState::Visited => "visited",
            StopState::Skipped => "skipped",
        }
    }
}

/// A question and what the leader found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub question: String,
    pub answer: String,
}

/// Something the leader saw at a stop; `action` is the action it became on the stop's board.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Observation {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<i64>,
}

/// One stop of a walk as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StopRecord {
    pub stop: Stop,
    pub state: StopState,
    /// When it was visited or skipped.
    pub at: Option<DateTime<Utc>>,
    pub answers: Vec<Answer>,
    pub observations: Vec<Observation>,
    #[serde(default)]
    pub skip_reason: String,
}

/// A walk's record: every stop of its route, in order.
pub fn start(route: &Route) -> Vec<StopRecord> {
    route
        .stops
        .iter()
        .map(|s| StopRecord {
            stop: s.clone(),
            state: StopState::Pending,
            at: None,
            answers: Vec::new(),
            observations: Vec::new(),
            skip_reason: String::new(),
        })
        .collect()
}

/// The first stop still to visit.
pub fn next_stop(stops: &[StopRecord]) -> Option<usize> {
    stops.iter().position(|s| s.state == StopState::Pending)
}

/// An observation a person writes, and whether it becomes an action (with its owner and due
/// date, YYYY-MM-DD).
#[derive(Debug, Clone, Default)]
pub struct ObservationDraft {
    pub text: String,
    pub raise: bool,
    pub owner: String,
    pub due: String,
}

fn open_stop(walk: &Walk, n: usize) -> Result<(), WalkError> {
    if walk.ended_at.is_some() {
        return Err(WalkError::Ended(walk.id));
    }
    let s = walk.stops.get(n).ok_or_else(|| WalkError::Bad {
        field: "stop".into(),
        message: format!(
            "walk {} has {} stops; there is no stop {}",
            walk.id,
            walk.stops.len(),
            n + 1
        ),
    })?;
    if s.state != StopState::Pending {
        return Err(WalkError::StopDone {
            walk: walk.id,
            stop: n + 1,
            state: s.state.as_str(),
        });
    }
    Ok(())
}

/// Records stop `n` (0 for the first; messages count from 1) visited at `at`: an answer per question of the route (in order; missing
/// ones empty), and the observations (blank ones dropped). Answers the observations that raise
/// an action, by their place in the stop's list.
pub fn visit(
    walk: &mut Walk,
    n: usize,
    questions: &[String],
    answers: &[String],
    observations: &[ObservationDraft],
    at: DateTime<Utc>,
) -> Result<Vec<usize>, WalkError> {
    open_stop(walk, n)?;
    if answers.len() > questions.len() {
        return Err(WalkError::Bad {
            field: "answers".into(),
            message: format!(
                "{} answers for {} questions",
                answers.len(),
                questions.len()
            ),
        });
    }
    let mut recorded = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let a = answers.get(i).map_or("", |a| a.trim());
        if a.chars().count() > MAX_ANSWER {
            return Err(WalkError::TooLong {
                field: format!("answers[{i}]"),
                max: MAX_ANSWER,
            });
        }
        recorded.push(Answer {
            question: q.clone(),
            answer: a.to_string(),
        });
    }
    let kept: Vec<&ObservationDraft> = observations
        .iter()
        .filter(|o| !o.text.trim().is_empty())
        .collect();
    if kept.len() > MAX_OBSERVATIONS {
        return Err(WalkError::Bad {
            field: "observations".into(),
            message: format!(
                "{} observations at one stop; at most {MAX_OBSERVATIONS}",
                kept.len()
            ),
        });
    }
    let mut obs = Vec::with_capacity(kept.len());
    let mut raise = Vec::new();
    for (i, o) in kept.iter().enumerate() {
        obs.push(Observation {
            text: text(&format!("observations[{i}]"), &o.text, MAX_ANSWER)?,
            action: None,
        });
        if o.raise {
            raise.push(i);
        }
    }
    let s = &mut walk.stops[n];
    s.state = StopState::Visited;
    s.at = Some(at);
    s.answers = recorded;
    s.observations = obs;
    Ok(raise)
}

/// Records stop `n` skipped at `at`, with the reason (required).
pub fn skip(walk: &mut Walk, n: usize, reason: &str, at: DateTime<Utc>) -> Result<(), WalkError> {
    open_stop(walk, n)?;
    let reason = text("reason", reason, MAX_ANSWER)?;
    let s = &mut walk.stops[n];
    s.state = StopState::Skipped;
    s.at = Some(at);
    s.skip_reason = reason;
    Ok(())
}

/// Ends a walk at `at`: a stop not reached is skipped with the reason that the walk ended.
pub fn end(walk: &mut Walk, at: DateTime<Utc>) -> Result<(), WalkError> {
    if walk.ended_at.is_some() {
        return Err(WalkError::Ended(walk.id));
    }
    for s in walk
        .stops
        .iter_mut()
        .filter(|s| s.state == StopState::Pending)
    {
        s.state = StopState::Skipped;
        s.at = Some(at);
        s.skip_reason = "not reached: the walk ended before it".into();
    }
    walk.ended_at = Some(at);
    Ok(())
}

/// Counts of a walk's stops and observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct WalkCounts {
    pub visited: u32,
    pub skipped: u32,
    pub observations: u32,
    /// Observations that became actions.
    pub actions: u32,
}

pub fn counts(stops: &[StopRecord]) -> WalkCounts {
    let mut c = WalkCounts::default();
    for s in stops {
        match s.state {
            StopState::Visited => c.visited += 1,
            StopState::Skipped => c.skipped += 1,
            StopState::Pending => {}
        }
        c.observations += s.observations.len() as u32;
        c.actions += s.observations.iter().filter(|o| o.action.is_some()).count() as u32;
    }
    c
}

/// When a gemba-walk routine was done: each walk of its route by its owner that ended with at
/// least one stop visited, at its end.
pub fn routine_completions(r: &crate::store::Routine, walks: &[Walk]) -> Vec<DateTime<Utc>> {
    walks
        .iter()
        .filter(|w| Some(w.route_id) == r.route_id && w.leader_id == r.leader_id)
        .filter(|w| w.stops.iter().any(|s| s.state == StopState::Visited))
        .filter_map(|w| w.ended_at)
        .collect()
}

/// One person's walks: starting one, each stop, the end. Every write is the walk's row and a
/// line of history (`walk:ID`); an observation raised as an action is the action's own write
/// first, on the stop's board, with a note that links back to the walk.
pub struct Walker<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub who: &'a str,
    pub now: DateTime<Utc>,
}

impl Walker<'_> {
    fn walk(&mut self, id: i64) -> Result<Walk, WalkError> {
        self.store.walk(id)?.ok_or(WalkError::NoSuchWalk(id))
    }

    fn route(&mut self, id: i64) -> Result<Route, WalkError> {
        self.store
            .routes()?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(WalkError::NoSuchRoute(id))
    }

    /// Adds (`id` `None`) or changes a route; answers its id.
    pub fn save_route(&mut self, id: Option<i64>, d: &RouteDraft) -> Result<i64, WalkError> {
        if let Some(id) = id {
            self.route(id)?;
        }
        let leaders = self.store.leaders()?;
        let w = check_route(self.cfg, d, &leaders)?;
        let what = format!(
            "{}: {} ({} stops, {} questions){}",
            if id.is_some() { "changed" } else { "added" },
            w.title,
            w.stops.len(),
            w.questions.len(),
            if w.active { "" } else { ", paused" }
        );
        Ok(self.store.write_route(id, &w, self.who, &what, self.now)?)
    }

    /// Starts a walk of a route by its leader; answers the walk's id.
    pub fn start(&mut self, route_id: i64) -> Result<i64, WalkError> {
        let route = self.route(route_id)?;
        if !route.active {
            return Err(WalkError::Paused(route_id));
        }
        let stops = start(&route);
        let what = format!("started: {}", route.title);
        Ok(self
            .store
            .start_walk(route_id, route.leader_id, &stops, self.who, &what, self.now)?)
    }

    /// Records stop `n` of a walk visited; each observation marked to raise one becomes an
    /// action on the stop's board (owner and due date as given: by default the walking
    /// leader, in a week).
    pub fn visit(
        &mut self,
        walk_id: i64,
        n: usize,
        answers: &[String],
        observations: &[ObservationDraft],
    ) -> Result<(), WalkError> {
        let mut walk = self.walk(walk_id)?;
        let route = self.route(walk.route_id)?;
        let raise = visit(
            &mut walk,
            n,
            &route.questions,
            answers,
            observations,
            self.now,
        )?;
        let leader = self
            .store
            .leaders()?
            .into_iter()
            .find(|l| l.id == walk.leader_id)
            .map_or_else(|| self.who.to_string(), |l| l.name);
        let kept: Vec<&ObservationDraft> = observations
            .iter()
            .filter(|o| !o.text.trim().is_empty())
            .collect();
        let today = self.now.with_timezone(&self.cfg.plant.tz).date_naive();
        let stop = walk.stops[n].stop.clone();
        for i in raise {
            let d = kept[i];
            let owner = if d.owner.trim().is_empty() {
                leader.clone()
            } else {
                d.owner.clone()
            };
            let due = if d.due.trim().is_empty() {
                (today + Duration::days(7)).to_string()
            } else {
                d.due.clone()
            };
            let note = format!(
                "From the gemba walk {} of {leader} on {}, stop {}: {} (/walks/{walk_id})",
                route.title,
                today.format("%-d %b"),
                n + 1,
                stop.label
            );
            let id = crate::actions::Actions {
                store: &mut *self.store,
                cfg: self.cfg,
                who: self.who,
                now: self.now,
            }
            .create_with_note(
                &stop.board,
                &crate::actions::Draft {
                    title: walk.stops[n].observations[i]
                        .text
                        .chars()
                        .take(200)
                        .collect(),
                    owner,
                    due,
                    orders: String::new(),
                },
                &note,
            )?;
            walk.stops[n].observations[i].action = Some(id);
        }
        let c = counts(&walk.stops[n..=n]);
        let what = format!(
            "visited stop {}: {} ({} observations, {} raised as actions)",
            n + 1,
            stop.label,
            c.observations,
            c.actions
        );
        self.store.save_walk(&walk, self.who, &what, self.now)?;
        Ok(())
    }

    /// Records stop `n` skipped, with the reason.
    pub fn skip(&mut self, walk_id: i64, n: usize, reason: &str) -> Result<(), WalkError> {
        let mut walk = self.walk(walk_id)?;
        skip(&mut walk, n, reason, self.now)?;
        let what = format!(
            "skipped stop {}: {} — {}",
            n + 1,
            walk.stops[n].stop.label,
            walk.stops[n].skip_reason
        );
        self.store.save_walk(&walk, self.who, &what, self.now)?;
        Ok(())
    }

    /// Ends a walk.
    pub fn end(&mut self, walk_id: i64) -> Result<(), WalkError> {
        let mut walk = self.walk(walk_id)?;
        end(&mut walk, self.now)?;
        let c = counts(&walk.stops);
        let what = format!(
            "ended: {} stops visited, {} skipped, {} observations, {} actions",
            c.visited, c.skipped, c.observations, c.actions
        );
        self.store.save_walk(&walk, self.who, &what, self.now)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::parse(crate::config::DEFAULT_CONFIG, "demo").unwrap()
    }

    fn leader() -> Leader {
        Leader {
            id: 4,
            name: "V. Marsh".into(),
            role: "Supervisor".into(),
            board: "area:Packaging".into(),
            login: None,
            active: true,
            updated_at: Utc::now(),
        }
    }

    fn draft() -> RouteDraft {
        RouteDraft {
            title: "Packaging floor".into(),
            leader: "4".into(),
            stops: vec![
                StopDraft {
                    board: "crew:Packaging Mechanical".into(),
                    asset: "F3".into(),
                    label: "Filler 3".into(),
                },
                StopDraft::default(),
                StopDraft {
                    board: "crew:Packaging E&I".into(),
                    asset: "".into(),
                    label: "E&I workshop".into(),
                },
            ],
            questions: String::new(),
            active: true,
        }
    }

    fn walk(stops: usize) -> Walk {
        let route = Route {
            id: 1,
            title: "r".into(),
            leader_id: 4,
            stops: (0..stops)
                .map(|i| Stop {
                    board: "plant".into(),
                    asset: String::new(),
                    label: format!("stop {i}"),
                })
                .collect(),
            questions: vec!["Q1".into(), "Q2".into()],
            active: true,
            updated_at: Utc::now(),
        };
        Walk {
            id: 9,
            route_id: 1,
            leader_id: 4,
            started_at: Utc::now(),
            ended_at: None,
            stops: start(&route),
        }
    }

    #[test]
    fn a_route_has_stops_on_boards_and_the_default_questions() {
        let w = check_route(&cfg(), &draft(), &[leader()]).unwrap();
        assert_eq!(w.stops.len(), 2, "the blank row is dropped");
        assert_eq!(w.stops[0].asset, "F3");
        assert_eq!(w.questions, DEFAULT_QUESTIONS);
        let bad = |f: &dyn Fn(&mut RouteDraft)| {
            let mut d = draft();
            f(&mut d);
            check_route(&cfg(), &d, &[leader()])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(bad(&|d| d.leader = "5".into()), "leader: no leader 5");
        assert!(
            bad(&|d| d.stops[2].board = "crew:Moon".into())
                .starts_with("stops[2].board: no board `crew:Moon`")
        );
        assert!(bad(&|d| d.stops.clear()).starts_with("stops: 0 stops"));
        assert!(bad(&|d| d.questions = "q\n".repeat(11)).starts_with("questions: 11 questions"));
        assert_eq!(bad(&|d| d.title = " ".into()), "title is required");
        let mut d = draft();
        d.stops[0].label = String::new();
        assert_eq!(
            check_route(&cfg(), &d, &[leader()]).unwrap().stops[0].label,
            "F3",
            "an asset alone names the stop"
        );
    }

    #[test]
    fn stops_are_visited_or_skipped_once_and_the_end_skips_the_rest() {
        let mut w = walk(3);
        let at = Utc::now();
        let questions = vec!["Q1".to_string(), "Q2".to_string()];
        let obs = [
            ObservationDraft {
                text: "guard missing".into(),
                raise: true,
                ..Default::default()
            },
            ObservationDraft {
                text: "  ".into(),
                raise: true,
                ..Default::default()
            },
            ObservationDraft {
                text: "good 5S".into(),
                ..Default::default()
            },
        ];
        let raise = visit(&mut w, 0, &questions, &["yes".into()], &obs, at).unwrap();
        assert_eq!(raise, [0], "the blank observation is dropped");
        assert_eq!(
            w.stops[0].answers[1],
            Answer {
                question: "Q2".into(),
                answer: String::new()
            }
        );
        assert_eq!(next_stop(&w.stops), Some(1));
        let e = visit(&mut w, 0, &questions, &[], &[], at)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "stop 1 of walk 9 was visited already");
        assert_eq!(
            skip(&mut w, 1, " ", at).unwrap_err().to_string(),
            "reason is required"
        );
        skip(&mut w, 1, "line stopped for a changeover", at).unwrap();
        assert!(
            visit(&mut w, 7, &questions, &[], &[], at)
                .unwrap_err()
                .to_string()
                .starts_with("stop: walk 9 has 3 stops; there is no stop 8")
        );
        assert!(
            visit(
                &mut w,
                2,
                &questions,
                &["a".into(), "b".into(), "c".into()],
                &[],
                at
            )
            .is_err()
        );
        end(&mut w, at).unwrap();
        assert_eq!(w.stops[2].state, StopState::Skipped);
        assert_eq!(
            w.stops[2].skip_reason,
            "not reached: the walk ended before it"
        );
        assert_eq!(end(&mut w, at).unwrap_err().to_string(), "walk 9 has ended");
        assert!(
            skip(&mut w, 2, "x", at).is_err(),
            "an ended walk takes nothing"
        );
        let c = counts(&w.stops);
        assert_eq!(
            (c.visited, c.skipped, c.observations, c.actions),
            (1, 2, 2, 0)
        );
    }
}
