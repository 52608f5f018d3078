//! The normalized work order: the one shape every connector maps into.
//! Domain types parse rather than validate, so a `Priority` or a `Status` is valid wherever it appears.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Defines a closed vocabulary with its binding snake_case spellings, `FromStr`, `Display` and serde.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The binding spelling used in the store, in JSON and in config.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted spellings, for error messages.
            pub fn spellings() -> String {
                [$($text),+].join(", ")
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(format!("`{}` is not a {} (expected one of: {})", t, $what, Self::spellings()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What kind of work an order is.
    Kind, "kind" {
        Emergency => "emergency",
        Corrective => "corrective",
        PlannedCorrective => "planned_corrective",
        Preventive => "preventive",
        Predictive => "predictive",
        Project => "project",
        Other => "other",
    }
);

vocabulary!(
    /// Where an order is in its life.
    Status, "status" {
        Requested => "requested",
        Approved => "approved",
        Ready => "ready",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        OnHold => "on_hold",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

/// The class of work used by every ratio between reactive and planned work (metrics.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Reactive,
    Planned,
    /// `other`: left out of every ratio between classes.
    Neither,
}

impl Kind {
    pub fn class(self) -> Class {
        match self {
            Kind::Emergency | Kind::Corrective => Class::Reactive,
            Kind::PlannedCorrective | Kind::Preventive | Kind::Predictive | Kind::Project => {
                Class::Planned
            }
            Kind::Other => Class::Neither,
        }
    }

    /// Preventive and predictive work: the kinds PM compliance counts.
    pub fn is_pm(self) -> bool {
        matches!(self, Kind::Preventive | Kind::Predictive)
    }
}

impl Status {
    /// The order of progress, used where several source codes apply at once (SAP's status text):
    /// the most advanced one wins, and a cancellation wins over everything.
    pub fn precedence(self) -> u8 {
        match self {
            Status::Requested => 0,
            Status::Approved => 1,
            Status::Ready => 2,
            Status::Scheduled => 3,
            Status::OnHold => 4,
            Status::InProgress => 5,
            Status::Completed => 6,
            Status::Cancelled => 7,
        }
    }
}

/// A bounded integer scale; `new` is the only way in, so a value is always in range.
macro_rules! bounded {
    ($(#[$meta:meta])* $name:ident, $lo:literal, $hi:literal, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(u8);

        impl $name {
            pub const MIN: u8 = $lo;
            pub const MAX: u8 = $hi;
            pub fn new(v: i64) -> Result<Self, String> {
                if ($lo..=$hi).contains(&v) {
                    Ok($name(v as u8))
                } else {
                    Err(format!("{} must be a whole number from {} to {}, got {}", $what, $lo, $hi, v))
                }
            }
            pub fn get(self) -> u8 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                // Exports often write whole numbers as "3.0".
                let n = t
                    .parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 1e9).map(|f| f as i64))
                    .ok_or_else(|| format!("`{}` is not a {} ({} to {})", t, $what, $lo, $hi))?;
                $name::new(n)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = i64::deserialize(d)?;
                $name::new(v).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

bounded!(
    /// Priority 1 (highest) to 5.
    Priority, 1, 5, "priority"
);
bounded!(
    /// Asset criticality 1 to 10 (10 most critical).
    Criticality, 1, 10, "criticality"
);

/// The normalized work order. `(source, id)` is the key. Timestamps are UTC instants; a due date
/// given as a bare date has already been turned into the end of that day in the plant time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub source: String,
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub status: Status,
    pub priority: Priority,
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    pub assignee: Option<String>,
    pub asset_id: Option<String>,
    pub asset_name: Option<String>,
    pub asset_criticality: Option<Criticality>,
    pub created_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub estimated_hours: Option<f64>,
    pub actual_hours: Option<f64>,
    pub downtime_hours: Option<f64>,
    pub pm_interval_days: Option<u32>,
    /// What the order cost (labour, parts, services), in the plant's currency.
    #[serde(default)]
    pub cost: Option<f64>,
    /// A problem, cause or damage code of the CMMS.
    #[serde(default)]
    pub failure_code: Option<String>,
}

/// The normalized fields, by their binding names: what a mapping profile may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Id,
    Title,
    Kind,
    Status,
    Priority,
    Site,
    Area,
    Crew,
    Assignee,
    AssetId,
    AssetName,
    AssetCriticality,
    CreatedAt,
    DueAt,
    ScheduledStart,
    StartedAt,
    CompletedAt,
    UpdatedAt,
    EstimatedHours,
    ActualHours,
    DowntimeHours,
    PmIntervalDays,
    Cost,
    FailureCode,
}

impl Field {
    pub const ALL: [Field; 24] = [
        Field::Id,
        Field::Title,
        Field::Kind,
        Field::Status,
        Field::Priority,
        Field::Site,
        Field::Area,
        Field::Crew,
        Field::Assignee,
        Field::AssetId,
        Field::AssetName,
        Field::AssetCriticality,
        Field::CreatedAt,
        Field::DueAt,
        Field::ScheduledStart,
        Field::StartedAt,
        Field::CompletedAt,
        Field::UpdatedAt,
        Field::EstimatedHours,
        Field::ActualHours,
        Field::DowntimeHours,
        Field::PmIntervalDays,
        Field::Cost,
        Field::FailureCode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Title => "title",
            Field::Kind => "kind",
            Field::Status => "status",
            Field::Priority => "priority",
            Field::Site => "site",
            Field::Area => "area",
            Field::Crew => "crew",
            Field::Assignee => "assignee",
            Field::AssetId => "asset_id",
            Field::AssetName => "asset_name",
            Field::AssetCriticality => "asset_criticality",
            Field::CreatedAt => "created_at",
            Field::DueAt => "due_at",
            Field::ScheduledStart => "scheduled_start",
            Field::StartedAt => "started_at",
            Field::CompletedAt => "completed_at",
            Field::UpdatedAt => "updated_at",
            Field::EstimatedHours => "estimated_hours",
            Field::ActualHours => "actual_hours",
            Field::DowntimeHours => "downtime_hours",
            Field::PmIntervalDays => "pm_interval_days",
            Field::Cost => "cost",
            Field::FailureCode => "failure_code",
        }
    }

    pub fn from_name(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Fields every order must have; a profile either names their column or gives a value.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            Field::Id
                | Field::Title
                | Field::Kind
                | Field::Status
                | Field::Priority
                | Field::CreatedAt
        )
    }

    pub fn is_timestamp(self) -> bool {
        matches!(
            self,
            Field::CreatedAt
                | Field::DueAt
                | Field::ScheduledStart
                | Field::StartedAt
                | Field::CompletedAt
                | Field::UpdatedAt
        )
    }

    pub fn is_hours(self) -> bool {
        matches!(
            self,
            Field::EstimatedHours | Field::ActualHours | Field::DowntimeHours
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip_their_binding_spellings() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
        }
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), *s);
        }
        assert_eq!("In_Progress".parse::<Status>().unwrap(), Status::InProgress);
        let err = "open".parse::<Status>().unwrap_err();
        assert!(
            err.contains("`open`") && err.contains("in_progress"),
            "{err}"
        );
    }

    #[test]
    fn bounded_scales_refuse_out_of_range_values() {
        assert_eq!("3".parse::<Priority>().unwrap().get(), 3);
        assert_eq!("2.0".parse::<Priority>().unwrap().get(), 2);
        assert!("0".parse::<Priority>().is_err());
        assert!("6".parse::<Priority>().is_err());
        assert!("2.5".parse::<Priority>().is_err());
        assert!("11".parse::<Criticality>().is_err());
        assert_eq!("10".parse::<Criticality>().unwrap().get(), 10);
    }

    #[test]
    fn classes_follow_metrics_md() {
        assert_eq!(Kind::Emergency.class(), Class::Reactive);
        assert_eq!(Kind::Corrective.class(), Class::Reactive);
        assert_eq!(Kind::PlannedCorrective.class(), Class::Planned);
        assert_eq!(Kind::Project.class(), Class::Planned);
        assert_eq!(Kind::Other.class(), Class::Neither);
        assert!(Kind::Predictive.is_pm() && !Kind::Project.is_pm());
    }

    #[test]
    fn field_names_are_the_binding_ones() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(
            Field::from_name("asset_criticality"),
            Some(Field::AssetCriticality)
        );
    }
}
