//! The huddle's agenda on the TV (docs/huddle.md): a board is shown as a short series of pages in
//! the order a tier-1 huddle runs, each filling the screen: (a) safety and the numbers, (b) what
//! broke and what is late or stuck, (c) today's pull lanes, as many pages as the lanes need, and
//! (d) actions and escalations. The huddle's timer is judged against its time box.
//!
//! Plain functions of plain data: the web layer renders them, the browser's script turns pages.

/// Pull lanes shown side by side on one TV page.
pub const LANES_PER_PAGE: usize = 3;
/// The timer turns amber this many seconds before the time box ends.
pub const CLOSING_SECONDS: i64 = 120;

/// An item of the huddle's agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Safety,
    Problems,
    Pull,
    Actions,
}

impl Item {
    pub fn title(self) -> &'static str {
        match self {
            Item::Safety => "Safety & numbers",
            Item::Problems => "Problems",
            Item::Pull => "Today's pull",
            Item::Actions => "Actions",
        }
    }
}

/// One page of the TV view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub item: Item,
    /// Its name in the page's address and the huddle record: `safety`, `problems`, `pull`
    /// (`pull-2`, ... when the lanes need more than one page), `actions`.
    pub name: String,
    /// For a pull page, the lanes it shows (indexes into the plan's lanes, the unassigned lane
    /// counted last).
    pub lanes: std::ops::Range<usize>,
}

/// The pages of a board whose pull plan has `lanes` lanes (crews and, when it has orders, the
/// unassigned lane). A board with no lane still has its pull page, which says so.
pub fn pages(lanes: usize) -> Vec<Page> {
    let page = |item: Item, name: &str| Page {
        item,
        name: name.to_string(),
        lanes: 0..0,
    };
    let mut out = vec![
        page(Item::Safety, "safety"),
        page(Item::Problems, "problems"),
    ];
    let pull_pages = lanes.div_ceil(LANES_PER_PAGE).max(1);
    for i in 0..pull_pages {
        out.push(Page {
            item: Item::Pull,
            name: if i == 0 {
                "pull".to_string()
            } else {
                format!("pull-{}", i + 1)
            },
            lanes: (i * LANES_PER_PAGE).min(lanes)..((i + 1) * LANES_PER_PAGE).min(lanes),
        });
    }
    out.push(page(Item::Actions, "actions"));
    out
}

/// The index of the page called `name` (the first page when the name is unknown or absent).
pub fn page_index(pages: &[Page], name: Option<&str>) -> usize {
    name.and_then(|n| pages.iter().position(|p| p.name == n.trim()))
        .unwrap_or(0)
}

/// How the huddle stands against its time box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Inside the time box, more than two minutes left.
    Running,
    /// The last two minutes (amber).
    Closing,
    /// Past the time box (red).
    Over,
}

impl Timer {
    pub fn class(self) -> &'static str {
        match self {
            Timer::Running => "running",
            Timer::Closing => "closing",
            Timer::Over => "over",
        }
    }
}

/// The timer after `elapsed_seconds` of a huddle of `minutes`.
pub fn timer(elapsed_seconds: i64, minutes: u32) -> Timer {
    let boxed = i64::from(minutes) * 60;
    if elapsed_seconds > boxed {
        Timer::Over
    } else if elapsed_seconds >= boxed - CLOSING_SECONDS {
        Timer::Closing
    } else {
        Timer::Running
    }
}

/// `m:ss` of a number of seconds (negative as zero).
pub fn clock(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

/// The pages a huddle showed, from what the TV sends when the huddle ends: names separated by
/// commas, in the order first shown; unknown names and repeats are dropped, at most 50 kept.
pub fn pages_shown(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let known = matches!(name, "safety" | "problems" | "actions" | "pull")
            || name
                .strip_prefix("pull-")
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| (2..=50).contains(&n)));
        if known && !out.iter().any(|o| o == name) && out.len() < 50 {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &[Page]) -> Vec<&str> {
        p.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn the_agenda_runs_safety_problems_pull_actions() {
        assert_eq!(names(&pages(1)), ["safety", "problems", "pull", "actions"]);
        assert_eq!(names(&pages(0)), ["safety", "problems", "pull", "actions"]);
        let seven = pages(7);
        assert_eq!(
            names(&seven),
            ["safety", "problems", "pull", "pull-2", "pull-3", "actions"]
        );
        assert_eq!(seven[2].lanes, 0..3);
        assert_eq!(seven[3].lanes, 3..6);
        assert_eq!(seven[4].lanes, 6..7, "the last pull page has the rest");
        assert_eq!(pages(3)[2].lanes, 0..3);
        assert_eq!(page_index(&seven, Some("pull-2")), 3);
        assert_eq!(page_index(&seven, Some("nope")), 0);
        assert_eq!(page_index(&seven, None), 0);
    }

    #[test]
    fn the_timer_turns_amber_two_minutes_before_the_end_and_red_after() {
        assert_eq!(timer(0, 10), Timer::Running);
        assert_eq!(timer(479, 10), Timer::Running);
        assert_eq!(timer(480, 10), Timer::Closing);
        assert_eq!(
            timer(600, 10),
            Timer::Closing,
            "the last second is still inside"
        );
        assert_eq!(timer(601, 10), Timer::Over);
        assert_eq!(
            timer(0, 1),
            Timer::Closing,
            "a one-minute huddle is all closing"
        );
        assert_eq!(timer(61, 1), Timer::Over);
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(605), "10:05");
        assert_eq!(clock(-3), "0:00");
    }

    #[test]
    fn pages_shown_keeps_known_names_once_in_order() {
        assert_eq!(
            pages_shown("safety, problems,pull,pull-2,safety,,<script>,pull-99,pull-x,actions"),
            ["safety", "problems", "pull", "pull-2", "actions"]
        );
        assert!(pages_shown("").is_empty());
    }
}
