//! `merge-passwords` (export-and-package.md §9.3–9.5).
