//! Helpers shared by the end-to-end tests: finding and running the built `whetstone` binary.
