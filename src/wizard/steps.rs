//! The ten steps of the wizard (import.md §9), numbered and titled as the
//! original prints them.

/// One step of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Provider = 1,
    Credentials = 2,
    ExportConfig = 3,
    Export = 4,
    PasswordMerge = 5,
    Validation = 6,
    ImportConfig = 7,
    Import = 8,
    PostImport = 9,
    Summary = 10,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::Provider,
        Step::Credentials,
        Step::ExportConfig,
        Step::Export,
        Step::PasswordMerge,
        Step::Validation,
        Step::ImportConfig,
        Step::Import,
        Step::PostImport,
        Step::Summary,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<Step> {
        Step::ALL.iter().copied().find(|s| s.number() == n)
    }

    /// The heading after `Step N: `.
    pub fn title(self) -> &'static str {
        match self {
            Step::Provider => "Select Provider",
            Step::Credentials => "Credentials",
            Step::ExportConfig => "Export Configuration",
            Step::Export => "Export",
            Step::PasswordMerge => "Password Hash Merge",
            Step::Validation => "Package Validation",
            Step::ImportConfig => "Import Configuration",
            Step::Import => "Import",
            Step::PostImport => "Post-Import",
            Step::Summary => "Summary",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for s in Step::ALL {
            assert_eq!(Step::from_number(s.number()), Some(s));
        }
        assert_eq!(Step::from_number(0), None);
        assert_eq!(Step::from_number(11), None);
    }
}
