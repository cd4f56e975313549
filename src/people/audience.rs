//! Who a policy or a training module is for: everyone, employees,
//! contractors, line managers, or chosen departments. The same rule runs in
//! Rust (for one person) and in SQL (for whole lists at once).
use super::model::{Kind, Person};

crate::text_enum! {
    /// The kind of audience, as stored (`audience` columns).
    pub enum AudienceKind {
        AllStaff = "all_staff" => "All staff and contractors",
        Employees = "employees" => "Employees only",
        Contractors = "contractors" => "Contractors only",
        Managers = "managers" => "Line managers only",
        Departments = "departments" => "Chosen departments",
        /// Policies only: approved and published, nobody is asked to acknowledge.
        Published = "published" => "Published only: nobody is asked to acknowledge it",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    AllStaff,
    Employees,
    Contractors,
    Managers,
    Departments(Vec<String>),
    /// Policies only: approved and published; nobody acknowledges.
    Published,
}

impl Audience {
    /// The audience of this kind; `departments` count only for `Departments`.
    pub fn of(kind: AudienceKind, departments: &[String]) -> Audience {
        match kind {
            AudienceKind::AllStaff => Audience::AllStaff,
            AudienceKind::Employees => Audience::Employees,
            AudienceKind::Contractors => Audience::Contractors,
            AudienceKind::Managers => Audience::Managers,
            AudienceKind::Departments => Audience::Departments(departments.to_vec()),
            AudienceKind::Published => Audience::Published,
        }
    }

    /// As `of`, from the stored or submitted text (anything unknown is all staff).
    pub fn from_parts(kind: &str, departments: &[String]) -> Audience {
        Audience::of(kind.parse().unwrap_or(AudienceKind::AllStaff), departments)
    }

    pub fn audience_kind(&self) -> AudienceKind {
        match self {
            Audience::AllStaff => AudienceKind::AllStaff,
            Audience::Employees => AudienceKind::Employees,
            Audience::Contractors => AudienceKind::Contractors,
            Audience::Managers => AudienceKind::Managers,
            Audience::Departments(_) => AudienceKind::Departments,
            Audience::Published => AudienceKind::Published,
        }
    }

    /// The stored value of `audience_kind`.
    pub fn kind(&self) -> &'static str {
        self.audience_kind().as_str()
    }

    pub fn departments(&self) -> Vec<String> {
        match self {
            Audience::Departments(d) => d.clone(),
            _ => Vec::new(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Audience::Departments(d) if d.is_empty() => "Chosen departments (none chosen yet)".into(),
            Audience::Departments(d) => format!("Departments: {}", d.join(", ")),
            other => other.audience_kind().label().to_string(),
        }
    }

    pub fn includes(&self, p: &Person) -> bool {
        match self {
            Audience::AllStaff => true,
            Audience::Employees => p.kind == Kind::Employee,
            Audience::Contractors => p.kind == Kind::Contractor,
            Audience::Managers => p.line_manager,
            Audience::Departments(d) => d.contains(&p.department),
            Audience::Published => false,
        }
    }
}

/// The audience kinds a training module may have (publishing is for policies).
pub fn module_choices() -> Vec<(&'static str, &'static str)> {
    AudienceKind::choices().into_iter().filter(|(k, _)| *k != AudienceKind::Published.as_str()).collect()
}

/// The same rule as `includes`, as an SQL condition: `target` is the alias of
/// the row with `audience` and `audience_departments`, `person` of `people`.
/// It calls the database's `in_audience` (migration 20261207000003), the one
/// place SQL states the rule; compile-checked queries call it the same way.
pub fn sql_match(target: &str, person: &str) -> String {
    format!("in_audience({target}.audience, {target}.audience_departments, {person}.kind, {person}.line_manager, {person}.department)")
}
