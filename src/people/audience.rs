//! Who a policy or a training module is for: everyone, employees,
//! contractors, line managers, or chosen departments. The same rule runs in
//! Rust (for one person) and in SQL (for whole lists at once).
use super::model::Person;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    AllStaff,
    Employees,
    Contractors,
    Managers,
    Departments(Vec<String>),
}

impl Audience {
    pub const KINDS: [(&'static str, &'static str); 5] = [
        ("all_staff", "All staff and contractors"),
        ("employees", "Employees only"),
        ("contractors", "Contractors only"),
        ("managers", "Line managers only"),
        ("departments", "Chosen departments"),
    ];

    pub fn from_parts(kind: &str, departments: &[String]) -> Audience {
        match kind {
            "employees" => Audience::Employees,
            "contractors" => Audience::Contractors,
            "managers" => Audience::Managers,
            "departments" => Audience::Departments(departments.to_vec()),
            _ => Audience::AllStaff,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Audience::AllStaff => "all_staff",
            Audience::Employees => "employees",
            Audience::Contractors => "contractors",
            Audience::Managers => "managers",
            Audience::Departments(_) => "departments",
        }
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
            other => Self::KINDS.iter().find(|(k, _)| *k == other.kind()).map(|(_, l)| l.to_string()).unwrap_or_default(),
        }
    }

    pub fn includes(&self, p: &Person) -> bool {
        match self {
            Audience::AllStaff => true,
            Audience::Employees => p.kind == "employee",
            Audience::Contractors => p.kind == "contractor",
            Audience::Managers => p.line_manager,
            Audience::Departments(d) => d.contains(&p.department),
        }
    }
}

/// The same rule as `includes`, as an SQL condition: `target` is the alias of
/// the row with `audience` and `audience_departments`, `person` of `people`.
pub fn sql_match(target: &str, person: &str) -> String {
    format!(
        "(CASE {target}.audience WHEN 'all_staff' THEN true
               WHEN 'employees' THEN {person}.kind = 'employee'
               WHEN 'contractors' THEN {person}.kind = 'contractor'
               WHEN 'managers' THEN {person}.line_manager
               WHEN 'departments' THEN {person}.department = ANY({target}.audience_departments)
               ELSE false END)"
    )
}
