//! Leadership on the boards: the records of standard work read once for a range (what the
//! standard-work board, a leader's page and the management system's page compute from), and
//! the board's *At the gemba this week* panel: which leaders walked this board's area or
//! attended its huddles, and the routines of this board's leaders due or missed today.

use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};

use crate::lsw::{Occurrence, REACH_DAYS, Records, Standing};
use crate::metrics::Scope;
use crate::store::{Completion, Huddle, Leader, LswChange, Routine, Walk};
use crate::web::{AppError, AppState};

/// Leaders, routines, completions, huddles and walks around a range of time.
pub struct Recorded {
    pub leaders: Vec<Leader>,
    pub routines: Vec<Routine>,
    pub completions: Vec<Completion>,
    pub huddles: Vec<Huddle>,
    pub walks: Vec<Walk>,
}

impl Recorded {
    /// Reads what the occurrences of `[from, to)` need (the range widened by
    /// [`REACH_DAYS`]).
    pub fn read(
        state: &AppState,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Recorded, AppError> {
        let reach = Duration::days(REACH_DAYS);
        Ok(state.with_store(|s| {
            Ok::<_, crate::store::StoreError>(Recorded {
                leaders: s.leaders()?,
                routines: s.routines()?,
                completions: s.completions(from - reach, to + reach)?,
                huddles: s.huddles_between(from - reach, to + reach)?,
                walks: s.walks(from - reach, to + reach)?,
            })
        })?)
    }

    /// Every routine with its occurrences due in `[from, to)` at `now` (`crate::lsw::chart`).
    pub fn chart(
        &self,
        state: &AppState,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Routine, Vec<Occurrence>)>, AppError> {
        let rec = Records {
            leaders: &self.leaders,
            routines: &self.routines,
            completions: &self.completions,
            huddles: &self.huddles,
            walks: &self.walks,
        };
        crate::lsw::chart(&rec, state.config().plant.tz, from, to, now)
            .map_err(|e| AppError::internal(format!("a stored routine no longer reads: {e}")))
    }
}

/// The history of a leader, routine, route or walk, newest first.
pub fn history(cfg: &crate::config::Config, h: &[LswChange]) -> Markup {
    html! {
        ul class="history" {
            @for c in h.iter().rev() { li { (crate::web::layout::fmt_time(cfg, Some(c.at))) " " (c.who) ": " (c.what) } }
        }
    }
}

/// What a board shows of its leaders: who was at its gemba this week, and today's routines of
/// the leaders who lead it.
#[derive(Debug, Clone, Default)]
pub struct Leadership {
    /// (leader, what they did, when), newest first.
    pub seen: Vec<(String, String, DateTime<Utc>)>,
    /// (leader, routine, standing) of today, for the leaders of this board.
    pub today: Vec<(String, String, Standing)>,
}

impl Leadership {
    /// Reads the board's leadership of this week (Monday on) and today.
    pub fn read(state: &AppState, board: &Scope) -> Result<Leadership, AppError> {
        let tz = state.config().plant.tz;
        let now = Utc::now();
        let today = now.with_timezone(&tz).date_naive();
        let monday = today
            - Duration::days(i64::from(
                chrono::Datelike::weekday(&today).num_days_from_monday(),
            ));
        let (week, _) = crate::lsw::day_range(tz, monday, monday);
        let (day_start, day_end) = crate::lsw::day_range(tz, today, today);
        let rec = Recorded::read(state, week, day_end)?;
        let key = board.key();
        let within = crate::safety::boards_within(state.config(), board);
        let mut seen = Vec::new();
        for l in &rec.leaders {
            let name = l.name.to_lowercase();
            for h in rec
                .huddles
                .iter()
                .filter(|h| h.started_at >= week && h.board == key)
            {
                if h.attendees
                    .split(',')
                    .any(|a| a.trim().to_lowercase() == name)
                {
                    seen.push((l.name.clone(), "at the huddle".to_string(), h.started_at));
                }
            }
            for w in rec
                .walks
                .iter()
                .filter(|w| w.started_at >= week && w.leader_id == l.id)
            {
                let here = w.stops.iter().any(|s| {
                    s.state == crate::walks::StopState::Visited && within.contains(&s.stop.board)
                });
                if here {
                    seen.push((l.name.clone(), "walked here".to_string(), w.started_at));
                }
            }
        }
        seen.sort_by_key(|s| std::cmp::Reverse(s.2));
        let mut todays = Vec::new();
        for (r, occ) in rec.chart(state, day_start, day_end, now)? {
            let Some(l) = rec.leaders.iter().find(|l| l.id == r.leader_id) else {
                continue;
            };
            if l.board != key {
                continue;
            }
            for o in occ {
                todays.push((l.name.clone(), r.title.clone(), o.standing));
            }
        }
        Ok(Leadership {
            seen,
            today: todays,
        })
    }

    /// The panel: *At the gemba this week* and today's routines of this board's leaders.
    pub fn panel(&self, tz: chrono_tz::Tz) -> Markup {
        html! {
            section class="panel leadership" id="leadership" {
                h2 { "At the gemba this week" }
                @if self.seen.is_empty() {
                    p class="empty" { "No leader has walked here or joined this board's huddle this week yet." }
                } @else {
                    ul class="seen" {
                        @for (name, what, at) in self.seen.iter().take(8) {
                            li { strong { (name) } " " (what) ", " (at.with_timezone(&tz).format("%a %H:%M").to_string()) }
                        }
                    }
                }
                @if !self.today.is_empty() {
                    h3 { "Leaders' routines today" }
                    ul class="lsw-week" {
                        @for (name, title, s) in &self.today {
                            li class={"lsw-cell " (s.as_str())} {
                                span class="sign" aria-hidden="true" { (s.sign()) } " " (name) ": " (title) " — " (s.label())
                            }
                        }
                    }
                }
            }
        }
    }
}
