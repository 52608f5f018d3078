//! Huddle actions and tiered escalation (docs/actions.md). A tier-1 huddle agrees actions with an
//! owner and a due date; what the team cannot solve is escalated, with a reason, to the board one
//! tier up (crew -> area -> site -> plant, from the config), which resolves it or hands it back
//! with a note. Every change is one line of history (who, when, what).
//!
//! Rules live here; the store only keeps rows. Each operation validates first, then writes the
//! action and its history line in one transaction.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::config::Config;
use crate::metrics::Scope;
use crate::store::{Action, ActionWrite, Store, StoreError};

/// Days without an update after which an open action is stale; also how long overdue.
pub const STALE_DAYS: i64 = 7;

const MAX_TITLE: usize = 200;
const MAX_NAME: usize = 80;
const MAX_TEXT: usize = 1000;
const MAX_ORDERS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("due: `{0}` is not a date; use YYYY-MM-DD")]
    BadDate(String),
    #[error("status: `{0}` is not a status; use open, doing or done")]
    BadStatus(String),
    #[error("orders: at most {MAX_ORDERS} order ids, separated by commas or spaces")]
    TooManyOrders,
    #[error("no board `{0}`; boards are plant, site:NAME, area:NAME or crew:NAME of the config")]
    UnknownBoard(String),
    #[error("no action {0}")]
    NoSuchAction(i64),
    #[error("the {0} board is the top tier: there is no board to escalate to")]
    TopTier(String),
    #[error("action {0} was not escalated to this board, so it cannot be handed back")]
    NotEscalated(i64),
    #[error("action {0} is done; reopen it first")]
    Done(i64),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Where an action is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Open,
    Doing,
    Done,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 3] =
        [ActionStatus::Open, ActionStatus::Doing, ActionStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::Doing => "doing",
            ActionStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Result<ActionStatus, ActionError> {
        ActionStatus::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| ActionError::BadStatus(s.to_string()))
    }
}

/// The board one tier up: a crew's area (else its site, else the plant), an area's site (when
/// its crews share one, else the plant), a site's plant. `None` for the plant.
pub fn parent(cfg: &Config, board: &Scope) -> Option<Scope> {
    let area = |a: &str| Scope {
        area: Some(a.to_string()),
        ..Scope::default()
    };
    let site = |s: &str| Scope {
        site: Some(s.to_string()),
        ..Scope::default()
    };
    if let Some(name) = &board.crew {
        let crew = cfg.crew(name);
        return Some(
            match (
                crew.and_then(|c| c.area.as_deref()),
                crew.and_then(|c| c.site.as_deref()),
            ) {
                (Some(a), _) => area(a),
                (None, Some(s)) => site(s),
                (None, None) => Scope::plant(),
            },
        );
    }
    if let Some(a) = &board.area {
        let mut sites = cfg
            .crews
            .iter()
            .filter(|c| c.area.as_deref() == Some(a))
            .filter_map(|c| c.site.as_deref());
        let first = sites.next();
        return Some(match first {
            Some(s) if sites.all(|x| x == s) => site(s),
            _ => Scope::plant(),
        });
    }
    board.site.as_ref().map(|_| Scope::plant())
}

/// A board's name for people: `Plant`, `site Riverside`, `area Packaging`, `crew Utilities`
/// (an area and a crew may share a name).
pub fn board_name(key: &str) -> String {
    match Scope::from_key(key) {
        Some(s) if s == Scope::plant() => "Plant".into(),
        Some(Scope { crew: Some(c), .. }) => format!("crew {c}"),
        Some(Scope { area: Some(a), .. }) => format!("area {a}"),
        Some(Scope { site: Some(x), .. }) => format!("site {x}"),
        _ => key.to_string(),
    }
}

/// Checks that a board key names a board of this config.
pub fn board(cfg: &Config, key: &str) -> Result<Scope, ActionError> {
    let unknown = || ActionError::UnknownBoard(key.to_string());
    let scope = Scope::from_key(key.trim()).ok_or_else(unknown)?;
    let known = scope.crew.as_ref().is_none_or(|n| cfg.crew(n).is_some())
        && scope
            .area
            .as_ref()
            .is_none_or(|a| cfg.crews.iter().any(|c| c.area.as_ref() == Some(a)))
        && scope
            .site
            .as_ref()
            .is_none_or(|s| cfg.crews.iter().any(|c| c.site.as_ref() == Some(s)));
    if known { Ok(scope) } else { Err(unknown()) }
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, ActionError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ActionError::Missing { field });
    }
    if v.chars().count() > max {
        return Err(ActionError::TooLong { field, max });
    }
    Ok(v.to_string())
}

fn optional_text(field: &'static str, v: &str) -> Result<Option<String>, ActionError> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        text(field, v, MAX_TEXT).map(Some)
    }
}

fn due(v: &str) -> Result<String, ActionError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ActionError::Missing { field: "due" });
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| ActionError::BadDate(v.to_string()))
}

/// Order ids separated by commas or white space.
pub fn order_ids(v: &str) -> Result<Vec<String>, ActionError> {
    let ids: Vec<String> = v
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.len() > MAX_ORDERS {
        return Err(ActionError::TooManyOrders);
    }
    for id in &ids {
        if id.chars().count() > MAX_NAME {
            return Err(ActionError::TooLong {
                field: "orders",
                max: MAX_NAME,
            });
        }
    }
    Ok(ids)
}

/// What a person types into the add or edit form.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub owner: String,
    pub due: String,
    pub orders: String,
}

/// The actions of one user's change, with who made it.
pub struct Actions<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub who: &'a str,
    pub now: DateTime<Utc>,
}

fn write_of(a: &Action) -> ActionWrite {
    ActionWrite {
        board: a.board.clone(),
        title: a.title.clone(),
        owner: a.owner.clone(),
        due: a.due.clone(),
        status: a.status.clone(),
        orders: a.orders.clone(),
        escalated_from: a.escalated_from.clone(),
        escalation_reason: a.escalation_reason.clone(),
        note: a.note.clone(),
    }
}

impl Actions<'_> {
    fn get(&mut self, id: i64) -> Result<Action, ActionError> {
        self.store.action(id)?.ok_or(ActionError::NoSuchAction(id))
    }

    fn save(&mut self, id: Option<i64>, w: &ActionWrite, what: &str) -> Result<i64, ActionError> {
        Ok(self.store.write_action(id, w, self.who, what, self.now)?)
    }

    /// A new action on `board_key`.
    pub fn create(&mut self, board_key: &str, d: &Draft) -> Result<i64, ActionError> {
        self.create_noted(board_key, d, None)
    }

    /// A new action raised by something else Gemba keeps (a gemba walk's observation, an
    /// audit's failed item), with a note that says where it came from.
    pub fn create_with_note(
        &mut self,
        board_key: &str,
        d: &Draft,
        note: &str,
    ) -> Result<i64, ActionError> {
        self.create_noted(board_key, d, Some(note))
    }

    fn create_noted(
        &mut self,
        board_key: &str,
        d: &Draft,
        note: Option<&str>,
    ) -> Result<i64, ActionError> {
        let board = board(self.cfg, board_key)?;
        let w = ActionWrite {
            board: board.key(),
            title: text("title", &d.title, MAX_TITLE)?,
            owner: text("owner", &d.owner, MAX_NAME)?,
            due: due(&d.due)?,
            status: ActionStatus::Open.as_str().into(),
            orders: order_ids(&d.orders)?,
            escalated_from: None,
            escalation_reason: None,
            note: note.map(|n| n.chars().take(MAX_TEXT).collect()),
        };
        let mut what = format!("created: {} (owner {}, due {})", w.title, w.owner, w.due);
        if let Some(n) = &w.note {
            what.push_str(&format!(" — {n}"));
        }
        self.save(None, &w, &what)
    }

    /// Changes title, owner, due date and linked orders.
    pub fn edit(&mut self, id: i64, d: &Draft) -> Result<(), ActionError> {
        let a = self.get(id)?;
        let mut w = write_of(&a);
        w.title = text("title", &d.title, MAX_TITLE)?;
        w.owner = text("owner", &d.owner, MAX_NAME)?;
        w.due = due(&d.due)?;
        w.orders = order_ids(&d.orders)?;
        let mut changed = Vec::new();
        if w.title != a.title {
            changed.push(format!("title `{}` -> `{}`", a.title, w.title));
        }
        if w.owner != a.owner {
            changed.push(format!("owner {} -> {}", a.owner, w.owner));
        }
        if w.due != a.due {
            changed.push(format!("due {} -> {}", a.due, w.due));
        }
        if w.orders != a.orders {
            changed.push(format!("orders [{}]", w.orders.join(", ")));
        }
        if changed.is_empty() {
            return Ok(());
        }
        self.save(Some(id), &w, &format!("edited: {}", changed.join("; ")))?;
        Ok(())
    }

    /// Moves an action to `open`, `doing` or `done`.
    pub fn set_status(&mut self, id: i64, status: ActionStatus) -> Result<(), ActionError> {
        let a = self.get(id)?;
        if a.status == status.as_str() {
            return Ok(());
        }
        let mut w = write_of(&a);
        w.status = status.as_str().into();
        self.save(
            Some(id),
            &w,
            &format!("status {} -> {}", a.status, w.status),
        )?;
        Ok(())
    }

    /// Puts the action on the board one tier up; the reason is required.
    pub fn escalate(&mut self, id: i64, reason: &str) -> Result<String, ActionError> {
        let a = self.get(id)?;
        if a.status == ActionStatus::Done.as_str() {
            return Err(ActionError::Done(id));
        }
        let reason = text("reason", reason, MAX_TEXT)?;
        let here =
            Scope::from_key(&a.board).ok_or_else(|| ActionError::UnknownBoard(a.board.clone()))?;
        let up =
            parent(self.cfg, &here).ok_or_else(|| ActionError::TopTier(board_name(&a.board)))?;
        let mut w = write_of(&a);
        w.board = up.key();
        w.escalated_from = Some(a.board.clone());
        w.escalation_reason = Some(reason.clone());
        w.status = ActionStatus::Open.as_str().into();
        self.save(
            Some(id),
            &w,
            &format!(
                "escalated from {} to {}: {reason}",
                board_name(&a.board),
                board_name(&up.key())
            ),
        )?;
        Ok(w.board)
    }

    /// Returns an escalated action to the board it came from, with a note.
    pub fn hand_back(&mut self, id: i64, note: &str) -> Result<String, ActionError> {
        let a = self.get(id)?;
        let Some(from) = a.escalated_from.clone() else {
            return Err(ActionError::NotEscalated(id));
        };
        let note = text("note", note, MAX_TEXT)?;
        let mut w = write_of(&a);
        w.board = from.clone();
        // One tier down the path it came up: the board below `from` on the way from its origin,
        // or none when `from` is where it was raised.
        w.escalated_from = self.below(&a.origin, &from);
        w.escalation_reason = None;
        w.note = Some(note.clone());
        w.status = ActionStatus::Open.as_str().into();
        self.save(
            Some(id),
            &w,
            &format!(
                "handed back from {} to {}: {note}",
                board_name(&a.board),
                board_name(&from)
            ),
        )?;
        Ok(from)
    }

    /// The board just below `board` on the escalation path that starts at `origin`.
    fn below(&self, origin: &str, board: &str) -> Option<String> {
        let mut at = Scope::from_key(origin)?;
        loop {
            let up = parent(self.cfg, &at)?;
            if up.key() == board {
                return Some(at.key());
            }
            at = up;
        }
    }

    /// Closes the action with what was done.
    pub fn resolve(&mut self, id: i64, note: &str) -> Result<(), ActionError> {
        let a = self.get(id)?;
        let mut w = write_of(&a);
        w.status = ActionStatus::Done.as_str().into();
        w.note = optional_text("note", note)?.or(a.note.clone());
        let what = match optional_text("note", note)? {
            Some(n) => format!("resolved: {n}"),
            None => "resolved".to_string(),
        };
        self.save(Some(id), &w, &what)?;
        Ok(())
    }
}

/// Flags the board shows on an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Flags {
    /// Past its due date and not done.
    pub overdue: bool,
    /// Not done, and no change for [`STALE_DAYS`] days or overdue by more than that.
    pub stale: bool,
}

pub fn flags(a: &Action, today: NaiveDate, now: DateTime<Utc>) -> Flags {
    if a.status == ActionStatus::Done.as_str() {
        return Flags::default();
    }
    let due = NaiveDate::parse_from_str(&a.due, "%Y-%m-%d").ok();
    let overdue = due.is_some_and(|d| d < today);
    let long_overdue = due.is_some_and(|d| d + Duration::days(STALE_DAYS) < today);
    Flags {
        overdue,
        stale: long_overdue || now - a.updated_at > Duration::days(STALE_DAYS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CONFIG;

    fn cfg() -> Config {
        Config::parse(DEFAULT_CONFIG, "demo").unwrap()
    }

    fn store() -> Store {
        Store::open("sqlite::memory:").unwrap()
    }

    fn draft(title: &str) -> Draft {
        Draft {
            title: title.into(),
            owner: "Ana".into(),
            due: "2026-11-25".into(),
            orders: "WO-1, WO-2".into(),
        }
    }

    #[test]
    fn the_tiers_go_crew_area_site_plant() {
        let cfg = cfg();
        let crew = Scope::crew("Packaging E&I");
        let area = parent(&cfg, &crew).unwrap();
        assert_eq!(area.key(), "area:Packaging");
        let site = parent(&cfg, &area).unwrap();
        assert_eq!(site.key(), "site:Riverside");
        assert_eq!(parent(&cfg, &site).unwrap(), Scope::plant());
        assert_eq!(parent(&cfg, &Scope::plant()), None);
    }

    #[test]
    fn escalate_to_the_top_and_hand_back_down_the_same_path() {
        let cfg = cfg();
        let mut store = store();
        let now = Utc::now();
        let mut a = Actions {
            store: &mut store,
            cfg: &cfg,
            who: "Ana",
            now,
        };
        let id = a
            .create("crew:Utilities", &draft("Chiller spares"))
            .unwrap();
        assert!(matches!(
            a.escalate(id, "  "),
            Err(ActionError::Missing { field: "reason" })
        ));
        assert_eq!(a.escalate(id, "needs budget").unwrap(), "area:Utilities");
        assert_eq!(
            a.escalate(id, "over the area's limit").unwrap(),
            "site:Riverside"
        );
        assert_eq!(a.escalate(id, "capex").unwrap(), "plant");
        assert!(matches!(
            a.escalate(id, "again"),
            Err(ActionError::TopTier(_))
        ));
        assert_eq!(a.hand_back(id, "approved, go").unwrap(), "site:Riverside");
        let now_on = a.store.action(id).unwrap().unwrap();
        assert_eq!(now_on.escalated_from.as_deref(), Some("area:Utilities"));
        assert_eq!(
            a.hand_back(id, "").unwrap_err().to_string(),
            "note is required"
        );
        a.hand_back(id, "site says yes").unwrap();
        assert_eq!(a.hand_back(id, "back to you").unwrap(), "crew:Utilities");
        let back = a.store.action(id).unwrap().unwrap();
        assert_eq!(back.board, "crew:Utilities");
        assert_eq!(back.escalated_from, None);
        assert_eq!(back.note.as_deref(), Some("back to you"));
        assert!(matches!(
            a.hand_back(id, "x"),
            Err(ActionError::NotEscalated(_))
        ));
        let history = a.store.action_history(id).unwrap();
        assert_eq!(history.len(), 7, "created, 3 escalations, 3 hand-backs");
        assert_eq!(
            history[1].what,
            "escalated from crew Utilities to area Utilities: needs budget"
        );
        assert!(history.iter().all(|h| h.who == "Ana"));
    }

    #[test]
    fn edits_are_validated_and_recorded_only_when_something_changed() {
        let cfg = cfg();
        let mut store = store();
        let mut a = Actions {
            store: &mut store,
            cfg: &cfg,
            who: "Ben",
            now: Utc::now(),
        };
        assert!(matches!(
            a.create("crew:Nobody", &draft("x")),
            Err(ActionError::UnknownBoard(_))
        ));
        let bad_due = Draft {
            due: "next week".into(),
            ..draft("x")
        };
        assert_eq!(
            a.create("plant", &bad_due).unwrap_err().to_string(),
            "due: `next week` is not a date; use YYYY-MM-DD"
        );
        let id = a.create("plant", &draft("Label the valves")).unwrap();
        a.edit(id, &draft("Label the valves")).unwrap();
        a.edit(
            id,
            &Draft {
                owner: "Chris".into(),
                ..draft("Label the valves")
            },
        )
        .unwrap();
        a.set_status(id, ActionStatus::Doing).unwrap();
        a.resolve(id, "done on Tuesday").unwrap();
        let h = a.store.action_history(id).unwrap();
        let what: Vec<&str> = h.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "created: Label the valves (owner Ana, due 2026-11-25)",
                "edited: owner Ana -> Chris",
                "status open -> doing",
                "resolved: done on Tuesday",
            ]
        );
        let done = a.store.action(id).unwrap().unwrap();
        assert_eq!(done.orders, ["WO-1", "WO-2"]);
        assert!(matches!(a.escalate(id, "why"), Err(ActionError::Done(_))));
    }

    #[test]
    fn overdue_and_stale_flags() {
        let cfg = cfg();
        let mut store = store();
        let created = Utc::now() - Duration::days(10);
        let id = Actions {
            store: &mut store,
            cfg: &cfg,
            who: "Ana",
            now: created,
        }
        .create("plant", &draft("Old"))
        .unwrap();
        let a = store.action(id).unwrap().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let f = flags(&a, today, Utc::now());
        assert!(f.overdue, "due the 25th");
        assert!(f.stale, "no change for 10 days");
        let f = flags(&a, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), created);
        assert_eq!(f, Flags::default(), "due today, just created");
        let f = flags(&a, NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(), created);
        assert!(f.overdue && f.stale, "overdue by 8 days");
    }
}
