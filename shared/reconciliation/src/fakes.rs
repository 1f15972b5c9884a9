//! In-memory implementations of every port, for the core's unit tests and for other
//! crates' fast tests (feature `test-util`).
