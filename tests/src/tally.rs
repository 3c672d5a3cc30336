//! The e2e walk's score sheet: every check is recorded with the reason it must hold, printed
//! as it happens, and summed into the closing `N passed, N failed` line that CI reads.
//!
//! A check that cannot run because an earlier step broke (no WebDriver session, say) is
//! recorded as failed rather than left out, so the closing line never looks greener than the run.

use std::fmt::Write as _;

/// One recorded check.
struct Outcome {
    name: String,
    failed: bool,
}

/// The checks recorded so far, in order.
#[derive(Default)]
pub struct Tally {
    outcomes: Vec<Outcome>,
}

impl Tally {
    /// Records a check. `why` says why the property must hold; it is printed only on failure,
    /// next to what was seen, so a red run explains itself without reading this crate.
    pub fn record(&mut self, name: &str, why: &str, result: Result<(), String>) {
        match &result {
            Ok(()) => println!("e2e: ok      {name}"),
            Err(seen) => println!("e2e: FAILED  {name}: {seen}. Why it must hold: {why}"),
        }
        self.outcomes.push(Outcome {
            name: name.to_owned(),
            failed: result.is_err(),
        });
    }

    /// Records a check that could not run because `cause` broke first.
    pub fn not_run(&mut self, name: &str, why: &str, cause: &str) {
        self.record(name, why, Err(format!("not run: {cause}")));
    }

    /// How many checks passed and how many failed.
    pub fn counts(&self) -> (usize, usize) {
        let failed = self.outcomes.iter().filter(|o| o.failed).count();
        (self.outcomes.len() - failed, failed)
    }

    /// The failed checks' names again, for the end of a long log, then the closing count line.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let failed_names: Vec<&str> = self
            .outcomes
            .iter()
            .filter(|o| o.failed)
            .map(|o| o.name.as_str())
            .collect();
        if !failed_names.is_empty() {
            let _ = writeln!(
                out,
                "e2e: failed checks (reasons above): {}",
                failed_names.join("; ")
            );
        }
        let (passed, failed) = self.counts();
        let _ = write!(out, "e2e: {passed} passed, {failed} failed");
        out
    }
}
