//! Name pools. ASCII pools are "boring"; the unicode pool exercises UTF-8
//! handling; the tricky pool holds valid values that need CSV quoting
//! (comma, double quote, embedded newline). No value has leading or trailing
//! whitespace (importers trim cells).

pub(crate) const FIRST_ASCII: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Aisha",
    "Wei",
    "Priya",
    "Kenji",
    "Olga",
    "Carlos",
    "Fatima",
    "Liam",
    "Noah",
    "Emma",
    "Ava",
    "Mateo",
];

pub(crate) const LAST_ASCII: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Patel",
    "Kim",
    "Nguyen",
    "Chen",
    "Singh",
    "O'Brien",
    "Van der Berg",
    "Smith-Jones",
];

pub(crate) const FIRST_UNICODE: &[&str] = &[
    "José",
    "Zoë",
    "Łukasz",
    "李",
    "Renée",
    "Søren",
    "Björn",
    "Ólafur",
    "Zoltán",
    "Ангелина",
    "Μαρία",
    "محمد",
    "太郎",
    "Chloé",
    "İsmail",
    "François",
    "Siân",
    "Đorđe",
];

pub(crate) const LAST_UNICODE: &[&str] = &[
    "Müller",
    "Dvořák",
    "Nguyễn",
    "Ødegaard",
    "García",
    "王",
    "Świątek",
    "Öztürk",
    "Иванов",
    "Παπαδόπουλος",
    "山田",
    "Núñez",
    "Łęcki",
    "Þórsson",
];

/// Valid but tricky: comma, double quote, embedded newline.
pub(crate) const TRICKY_COMMA: &[&str] =
    &["Smith, Jr.", "Doe, Jane", "Anne-Marie, PhD", "King, III"];
pub(crate) const TRICKY_QUOTE: &[&str] = &[
    "Robert \"Bob\"",
    "O\"Neil",
    "\"Ace\" Jones",
    "Dwayne \"The Rock\"",
];
pub(crate) const TRICKY_NEWLINE: &[&str] = &["Mary\nAnn", "Jean\nLuc", "Line\nBreak"];

/// Full display names (Firebase) — ASCII, some needing escaping.
pub(crate) const DISPLAY_TRICKY: &[&str] = &[
    "Smith, John",
    "Robert \"Bob\" Jones",
    "Doe, Jane \"JD\"",
    "Back\\Slash Person",
];

/// Full display names with non-ASCII characters.
pub(crate) const DISPLAY_UNICODE: &[&str] = &[
    "José García",
    "Zoë Ødegaard",
    "Łukasz Świątek",
    "李 小龙",
    "Renée Müller",
    "Ангелина Иванова",
    "Μαρία Παπαδοπούλου",
    "山田 太郎",
    "محمد علي",
    "Nguyễn Văn An",
    "Björn Þórsson",
    "François Dvořák",
];

pub(crate) const DOMAINS: u64 = 50;

pub(crate) fn is_tricky(s: &str) -> bool {
    s.contains([',', '"', '\n', '\r'])
}
