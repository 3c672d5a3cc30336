//! The Fellegi–Sunter model behind customer linking, trained on the records it links.
//!
//! Two customer records are compared field by field, and each [`Comparison`]
//! lands on a level: the same value, a close spelling, a looser likeness,
//! disagreement, or no evidence at all when either side is empty. A level's
//! weight is log2(m/u): how much likelier that outcome is for two records of one
//! customer (m) than for two records of different customers (u). Neither is set
//! by hand; both come from the workspace's own records, without labelled pairs:
//!
//! - u is how often random pairs of records (almost all of them two different
//!   customers) land on each level;
//! - m is estimated by expectation–maximisation, with u fixed, in training
//!   sessions as splink runs them: pairs drawn from records sharing a postcode
//!   train every comparison but the address's place, pairs sharing a name
//!   train every comparison but the name. Drawn that way, the non-matches of a
//!   session agree on the other fields only by chance (as u says), so EM
//!   separates customers, not places. (EM over the candidate pairs blocking
//!   proposed does not: those were chosen for agreeing somewhere, and EM reads
//!   a suburb of strangers as one class.)
//! - the prior is the estimated number of matches among the candidates over
//!   all pairs of records, to self-consistency.
//!
//! Exact agreement on a name, company, suburb or postcode is then adjusted for
//! how common the value is (term frequency), so two Smiths agreeing says less
//! than two Okonkwos. A pair's match probability comes from the prior log-odds
//! plus the sum of its weights.
//!
//! A workspace too small to train on still links: every estimate is blended
//! with general priors (Dirichlet pseudo-counts), which the data outweighs once
//! there are a few hundred candidate pairs.
//!
//! A link keeps each field's contribution as a compact code
//! (`given:close:+3.1`, see [`Weight`]); [`describe`] renders one for people.

use std::fmt::Write as _;

/// What two customer records are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    Email,
    Phone,
    TaxNumber,
    GivenName,
    FamilyName,
    Company,
    StreetNumber,
    Street,
    City,
    Postcode,
    Region,
}

/// How many comparisons there are.
pub const COMPARISONS: usize = 11;

/// Every comparison, in the order of their slots in a [`Gamma`].
pub const ALL: [Comparison; COMPARISONS] = [
    Comparison::Email,
    Comparison::Phone,
    Comparison::TaxNumber,
    Comparison::GivenName,
    Comparison::FamilyName,
    Comparison::Company,
    Comparison::StreetNumber,
    Comparison::Street,
    Comparison::City,
    Comparison::Postcode,
    Comparison::Region,
];

/// Comparisons whose exact agreement is adjusted for the value's frequency, in slot order of [`Tf`].
pub const TF_COMPARISONS: [Comparison; 5] = [Comparison::GivenName, Comparison::FamilyName, Comparison::Company, Comparison::City, Comparison::Postcode];

/// The level every comparison uses for "both sides hold the same value".
pub const SAME: u8 = 1;
/// The level for "either side is empty": no evidence either way.
pub const NULL: u8 = 0;

/// The most levels a comparison has (not counting [`NULL`]).
const MAX_LEVELS: usize = 6;

struct Spec {
    code: &'static str,
    label: &'static str,
    /// Level names, from [`SAME`] on; the last is always `different`.
    levels: &'static [&'static str],
    /// General priors for m and u per level (each sums to 1): what a comparison
    /// of this kind usually shows, before the workspace's own records speak.
    m0: &'static [f64],
    u0: &'static [f64],
}

const SPECS: [Spec; COMPARISONS] = [
    Spec { code: "email", label: "email", levels: &["same", "local", "shared", "different"], m0: &[0.75, 0.05, 0.05, 0.15], u0: &[0.0001, 0.0001, 0.002, 0.9978] },
    Spec { code: "phone", label: "phone", levels: &["same", "different"], m0: &[0.75, 0.25], u0: &[0.0001, 0.9999] },
    Spec { code: "abn", label: "ABN", levels: &["same", "different"], m0: &[0.95, 0.05], u0: &[0.0001, 0.9999] },
    Spec {
        code: "given",
        label: "given name",
        levels: &["same", "close", "similar", "initial", "different"],
        m0: &[0.85, 0.06, 0.03, 0.02, 0.04],
        u0: &[0.01, 0.005, 0.02, 0.01, 0.955],
    },
    Spec { code: "family", label: "family name", levels: &["same", "close", "similar", "different"], m0: &[0.87, 0.06, 0.03, 0.04], u0: &[0.005, 0.003, 0.02, 0.972] },
    Spec { code: "company", label: "company name", levels: &["same", "close", "similar", "different"], m0: &[0.85, 0.07, 0.03, 0.05], u0: &[0.002, 0.002, 0.01, 0.986] },
    Spec { code: "number", label: "street number", levels: &["same", "close", "different"], m0: &[0.9, 0.04, 0.06], u0: &[0.02, 0.05, 0.93] },
    Spec { code: "street", label: "street", levels: &["same", "close", "partial", "different"], m0: &[0.8, 0.1, 0.05, 0.05], u0: &[0.001, 0.002, 0.01, 0.987] },
    Spec { code: "city", label: "suburb", levels: &["same", "close", "different"], m0: &[0.9, 0.04, 0.06], u0: &[0.01, 0.005, 0.985] },
    Spec { code: "postcode", label: "postcode", levels: &["same", "close", "different"], m0: &[0.9, 0.04, 0.06], u0: &[0.005, 0.03, 0.965] },
    Spec { code: "region", label: "state", levels: &["same", "different"], m0: &[0.95, 0.05], u0: &[0.3, 0.7] },
];

impl Comparison {
    /// The slot of this comparison in a [`Gamma`].
    pub fn index(self) -> usize {
        ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
    fn spec(self) -> &'static Spec {
        &SPECS[self.index()]
    }
    /// The level called "different" (always the last).
    pub fn different(self) -> u8 {
        self.spec().levels.len() as u8
    }
    /// How many levels besides [`NULL`].
    pub fn levels(self) -> usize {
        self.spec().levels.len()
    }
    /// The level's name (`same`, `close`, ...).
    pub fn level_name(self, level: u8) -> &'static str {
        if level == NULL {
            return "null";
        }
        self.spec().levels.get(level as usize - 1).copied().unwrap_or("?")
    }
}

/// One pair's comparison vector: three bits per comparison, [`NULL`] = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Gamma(pub u64);

impl Gamma {
    pub fn get(self, c: Comparison) -> u8 {
        ((self.0 >> (3 * c.index())) & 7) as u8
    }
    pub fn set(&mut self, c: Comparison, level: u8) {
        let shift = 3 * c.index();
        self.0 = (self.0 & !(7 << shift)) | (((level & 7) as u64) << shift);
    }
    pub fn with(mut self, c: Comparison, level: u8) -> Gamma {
        self.set(c, level);
        self
    }
}

/// How common the values that agreed exactly are: per [`TF_COMPARISONS`] slot,
/// the number of records holding the value (0 where the level was not [`SAME`]).
pub type Tf = [u32; 5];

/// One EM training session: the comparison vectors of pairs drawn from
/// records that agree on something (a postcode, a name), each distinct vector
/// with how many pairs have it, and the comparisons it trains: all but those
/// its drawing fixed, whose agreement there says nothing.
pub struct Session<'a> {
    pub patterns: &'a [(Gamma, f64)],
    pub trains: &'a [Comparison],
}

/// The trained model: the prior share of matches, and m and u per comparison level.
#[derive(Debug, Clone)]
pub struct Model {
    /// Probability that a pair of records is a match, before comparing them.
    pub lambda: f64,
    m: [[f64; MAX_LEVELS + 1]; COMPARISONS],
    u: [[f64; MAX_LEVELS + 1]; COMPARISONS],
    /// log2 weights, cached from m and u.
    w: [[f64; MAX_LEVELS + 1]; COMPARISONS],
    /// Per TF slot: the sum of squared counts over all values and the number of
    /// records with a value, from which a value's adjustment is computed.
    tf_norm: [(f64, f64); 5],
    /// EM iterations run.
    pub iterations: usize,
    /// How many candidate pairs the prior was estimated on.
    pub candidates: f64,
}

/// Pseudo-counts of the priors: as many matched, unmatched and random pairs as these.
const PRIOR_MATCHES: f64 = 10.0;
const PRIOR_RANDOM: f64 = 100.0;
const PRIOR_LAMBDA: f64 = 0.2;
/// A term-frequency adjustment is held within these bits.
const TF_MIN: f64 = -4.0;
const TF_MAX: f64 = 8.0;

fn priors(field: fn(&Spec) -> &'static [f64]) -> [[f64; MAX_LEVELS + 1]; COMPARISONS] {
    let mut out = [[0.0; MAX_LEVELS + 1]; COMPARISONS];
    for (k, s) in SPECS.iter().enumerate() {
        for (l, p) in field(s).iter().enumerate() {
            out[k][l + 1] = *p;
        }
    }
    out
}

/// Level counts of random pairs per comparison (`counts[k][level]`).
pub type LevelCounts = [[f64; MAX_LEVELS + 1]; COMPARISONS];

/// Adds one pair's levels to `counts`.
pub fn count(counts: &mut LevelCounts, g: Gamma) {
    for c in ALL {
        counts[c.index()][g.get(c) as usize] += 1.0;
    }
}

/// Blends counts (ignoring [`NULL`]) with a prior of `strength` pseudo-pairs, per comparison.
fn blend(counts: &[f64; MAX_LEVELS + 1], prior: &[f64; MAX_LEVELS + 1], strength: f64, levels: usize) -> [f64; MAX_LEVELS + 1] {
    let total: f64 = counts[1..=levels].iter().sum();
    let mut out = [0.0; MAX_LEVELS + 1];
    for l in 1..=levels {
        out[l] = (counts[l] + strength * prior[l]) / (total + strength);
    }
    out
}

impl Model {
    /// Trains the model: u from the random pairs' level counts, m by EM in each
    /// of `sessions`, the prior from the candidate pairs (`candidates`: each
    /// distinct comparison vector with how many pairs have it) among `all_pairs`
    /// pairs of records. Deterministic: the same input gives the same model.
    pub fn train(sessions: &[Session<'_>], random: &LevelCounts, candidates: &[(Gamma, f64)], all_pairs: f64, tf_norm: [(f64, f64); 5]) -> Model {
        let (m0, u_prior) = (priors(|s| s.m0), priors(|s| s.u0));
        let mut u = [[0.0; MAX_LEVELS + 1]; COMPARISONS];
        for c in ALL {
            u[c.index()] = blend(&random[c.index()], &u_prior[c.index()], PRIOR_RANDOM, c.levels());
        }
        let mut model = Model { lambda: PRIOR_LAMBDA, m: m0, u, w: [[0.0; MAX_LEVELS + 1]; COMPARISONS], tf_norm, iterations: 0, candidates: 0.0 };
        model.refresh();
        // m: each session's estimate for the comparisons it trains, averaged.
        let mut sum = [[0.0; MAX_LEVELS + 1]; COMPARISONS];
        let mut trained = [0usize; COMPARISONS];
        for session in sessions {
            let (m, iterations) = model.session_m(session, &m0);
            model.iterations += iterations;
            for c in session.trains {
                let k = c.index();
                for l in 1..=c.levels() {
                    sum[k][l] += m[k][l];
                }
                trained[k] += 1;
            }
        }
        for c in ALL {
            let k = c.index();
            if trained[k] > 0 {
                for l in 1..=c.levels() {
                    model.m[k][l] = sum[k][l] / trained[k] as f64;
                }
            }
        }
        model.refresh();
        // The prior: the share of all pairs that are matches, as the candidates
        // (nearly every true pair among them) estimate it, to self-consistency.
        let total: f64 = candidates.iter().map(|(_, n)| n).sum();
        model.candidates = total;
        let all_pairs = all_pairs.max(total).max(1.0);
        let lambda0 = (total / 3.0 / all_pairs).clamp(1e-12, 0.5);
        model.lambda = lambda0;
        for _ in 0..100 {
            let matches: f64 = candidates.iter().map(|&(g, n)| model.probability_of_bits(model.bits(g)) * n).sum();
            let lambda = ((matches + PRIOR_MATCHES * lambda0) / (all_pairs + PRIOR_MATCHES)).clamp(1e-15, 0.999);
            let done = (lambda / model.lambda - 1.0).abs() < 1e-6;
            model.lambda = lambda;
            if done {
                break;
            }
        }
        model
    }

    /// EM in one session: u fixed, m of the session's comparisons and the
    /// session's own share of matches estimated; the comparisons its drawing
    /// fixed are left out of the likelihood.
    fn session_m(&self, session: &Session<'_>, m0: &[[f64; MAX_LEVELS + 1]; COMPARISONS]) -> ([[f64; MAX_LEVELS + 1]; COMPARISONS], usize) {
        let mut m = *m0;
        let mut lambda = PRIOR_LAMBDA;
        let total: f64 = session.patterns.iter().map(|(_, n)| n).sum();
        let weight = |m: &[[f64; MAX_LEVELS + 1]; COMPARISONS], g: Gamma| -> f64 {
            session
                .trains
                .iter()
                .map(|&c| {
                    let (k, l) = (c.index(), g.get(c) as usize);
                    if l == 0 {
                        0.0
                    } else {
                        (m[k][l] / self.u[k][l]).log2()
                    }
                })
                .sum()
        };
        for it in 0..200 {
            let mut mc = [[0.0; MAX_LEVELS + 1]; COMPARISONS];
            let mut matches = 0.0;
            let prior = (lambda / (1.0 - lambda)).log2();
            for &(g, n) in session.patterns {
                let p = 1.0 / (1.0 + (-(prior + weight(&m, g))).exp2());
                matches += p * n;
                for c in session.trains {
                    mc[c.index()][g.get(*c) as usize] += p * n;
                }
            }
            let next = ((matches + PRIOR_MATCHES * PRIOR_LAMBDA) / (total + PRIOR_MATCHES)).clamp(1e-9, 1.0 - 1e-9);
            let mut change = (next - lambda).abs();
            lambda = next;
            for c in session.trains {
                let k = c.index();
                let fresh = blend(&mc[k], &m0[k], PRIOR_MATCHES, c.levels());
                for l in 1..=c.levels() {
                    change = change.max((fresh[l] - m[k][l]).abs());
                }
                m[k] = fresh;
            }
            if change < 1e-6 {
                return (m, it + 1);
            }
        }
        (m, 200)
    }

    fn refresh(&mut self) {
        for k in 0..COMPARISONS {
            for l in 1..=MAX_LEVELS {
                let (m, u) = (self.m[k][l], self.u[k][l]);
                self.w[k][l] = if m > 0.0 && u > 0.0 { (m / u).log2() } else { 0.0 };
            }
        }
    }

    /// The weight (log2 Bayes factor) of one comparison's level.
    pub fn weight(&self, c: Comparison, level: u8) -> f64 {
        self.w[c.index()][level as usize]
    }

    /// The term-frequency adjustment (bits) for exact agreement on a value `count` records hold.
    pub fn tf_adjustment(&self, slot: usize, count: u32) -> f64 {
        let (sum_sq, n) = self.tf_norm[slot];
        if count == 0 || n <= 0.0 || sum_sq <= 0.0 {
            return 0.0;
        }
        // u for this value is the overall u of agreement scaled by how common the
        // value is against an average value: f_v / sum(f^2), with f = count / n.
        (sum_sq / (n * count as f64)).log2().clamp(TF_MIN, TF_MAX)
    }

    /// The sum of the weights of a vector, without term frequencies.
    fn bits(&self, g: Gamma) -> f64 {
        ALL.iter().map(|&c| self.weight(c, g.get(c))).sum()
    }

    /// The weight of exact agreement on a value `count` records hold: the
    /// level's weight adjusted for the value's frequency, but never below the
    /// weight of a mere close spelling, nor against the link (agreeing on
    /// even the commonest name is no evidence that two records differ).
    fn same_bits(&self, c: Comparison, slot: usize, count: u32) -> f64 {
        let base = self.weight(c, SAME);
        let floor = self.weight(c, SAME + 1).max(0.0).min(base);
        (base + self.tf_adjustment(slot, count)).max(floor)
    }

    /// The total weight of a pair: its levels' weights and the term-frequency adjustments.
    pub fn total_bits(&self, g: Gamma, tf: &Tf) -> f64 {
        let mut b = self.bits(g);
        for (slot, &c) in TF_COMPARISONS.iter().enumerate() {
            if g.get(c) == SAME {
                b += self.same_bits(c, slot, tf[slot]) - self.weight(c, SAME);
            }
        }
        b
    }

    /// The match probability of a pair with this much weight.
    pub fn probability_of_bits(&self, bits: f64) -> f64 {
        let prior = (self.lambda / (1.0 - self.lambda)).log2();
        1.0 / (1.0 + (-(prior + bits)).exp2())
    }

    /// Each non-null comparison's contribution, in comparison order.
    pub fn weights(&self, g: Gamma, tf: &Tf) -> Vec<Weight> {
        let mut out = Vec::new();
        for c in ALL {
            let level = g.get(c);
            if level == NULL {
                continue;
            }
            let mut bits = self.weight(c, level);
            if level == SAME {
                if let Some(slot) = TF_COMPARISONS.iter().position(|t| *t == c) {
                    bits = self.same_bits(c, slot, tf[slot]);
                }
            }
            out.push(Weight { comparison: c, level, bits });
        }
        out
    }

    /// m and u of one comparison's levels, for the bench's report.
    pub fn table(&self, c: Comparison) -> Vec<(&'static str, f64, f64)> {
        (1..=c.levels()).map(|l| (c.level_name(l as u8), self.m[c.index()][l], self.u[c.index()][l])).collect()
    }
}

/// The range of weights (bits) whose codes are shared ([`Weight::shared_code`]).
const CODE_MIN: f64 = -40.0;
const CODE_MAX: f64 = 60.0;

/// One field's contribution to a link: which comparison, its level, and its weight in bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weight {
    pub comparison: Comparison,
    pub level: u8,
    pub bits: f64,
}

impl Weight {
    /// The compact code a link stores: `given:close:+3.1`.
    pub fn code(&self) -> String {
        let mut s = String::with_capacity(20);
        // To a tenth, and never "-0.0".
        let tenth = (self.bits * 10.0).round() / 10.0 + 0.0;
        let _ = write!(s, "{}:{}:{:+.1}", self.comparison.spec().code, self.comparison.level_name(self.level), tenth);
        s
    }

    /// The code as shared text: weights to a tenth of a bit between
    /// [`CODE_MIN`] and [`CODE_MAX`] come from a table built once, so the
    /// hundreds of thousands of links that share a code share its text.
    pub fn shared_code(&self) -> std::borrow::Cow<'static, str> {
        use std::sync::OnceLock;
        static TABLE: OnceLock<Vec<String>> = OnceLock::new();
        let tenths = (self.bits * 10.0).round();
        let steps = ((CODE_MAX - CODE_MIN) * 10.0) as usize + 1;
        if !(CODE_MIN * 10.0..=CODE_MAX * 10.0).contains(&tenths) {
            return self.code().into();
        }
        let table = TABLE.get_or_init(|| {
            let mut t = Vec::with_capacity(COMPARISONS * MAX_LEVELS * steps);
            for c in ALL {
                for level in 1..=MAX_LEVELS as u8 {
                    for i in 0..steps {
                        let bits = CODE_MIN + i as f64 / 10.0;
                        t.push(if level as usize <= c.levels() { Weight { comparison: c, level, bits }.code() } else { String::new() });
                    }
                }
            }
            t
        });
        let i = (self.comparison.index() * MAX_LEVELS + self.level as usize - 1) * steps + (tenths - CODE_MIN * 10.0) as usize;
        std::borrow::Cow::Borrowed(table[i].as_str())
    }

    /// Reads a code written by [`Weight::code`].
    pub fn parse(code: &str) -> Option<Weight> {
        let mut parts = code.split(':');
        let (field, level, bits) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let comparison = ALL.into_iter().find(|c| c.spec().code == field)?;
        let level = (1..=comparison.levels() as u8).find(|l| comparison.level_name(*l) == level)?;
        let bits: f64 = bits.parse().ok()?;
        Some(Weight { comparison, level, bits })
    }

    /// The contribution in words, without the weight: `same email`, `given name: close spelling`.
    pub fn text(&self) -> String {
        let label = self.comparison.spec().label;
        match self.comparison.level_name(self.level) {
            "same" => format!("same {label}"),
            "different" => format!("different {label}"),
            "close" => format!("{label}: close spelling"),
            "similar" => format!("{label}: similar"),
            "initial" => format!("{label}: initial only"),
            "local" => "email: same name before the @, other domain".to_string(),
            "shared" => "same shared mailbox".to_string(),
            "partial" => "street: one line agrees".to_string(),
            other => format!("{label}: {other}"),
        }
    }

    /// How many times likelier this outcome is for one customer than for two (2^bits).
    pub fn factor(&self) -> f64 {
        self.bits.exp2()
    }
}

/// A stored evidence entry rendered for people: a weight code becomes its words
/// and Bayes factor (`same email (×4,100)`); any other entry is already words.
pub fn describe(evidence: &str) -> (String, Option<f64>) {
    match Weight::parse(evidence) {
        Some(w) => {
            let f = w.factor();
            let factor = if f >= 10.0 {
                format!("×{}", group_thousands(f.round() as u64))
            } else if f >= 1.0 {
                format!("×{f:.1}")
            } else if f > 0.0 && 1.0 / f >= 10.0 {
                format!("÷{}", group_thousands((1.0 / f).round() as u64))
            } else {
                format!("÷{:.1}", 1.0 / f)
            };
            (format!("{} ({factor})", w.text()), Some(w.bits))
        }
        None => (evidence.to_string(), None),
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_slots_are_independent() {
        let g = Gamma::default().with(Comparison::Email, 4).with(Comparison::Region, 2).with(Comparison::GivenName, 5);
        assert_eq!(g.get(Comparison::Email), 4, "each comparison keeps its own level");
        assert_eq!(g.get(Comparison::Region), 2, "the last slot is not overwritten by others");
        assert_eq!(g.get(Comparison::GivenName), 5, "a middle slot holds its level");
        assert_eq!(g.get(Comparison::Phone), NULL, "an unset comparison is no evidence");
        for c in ALL {
            assert!(c.levels() <= MAX_LEVELS, "{c:?} must fit in three bits");
            assert_eq!(c.level_name(c.different()), "different", "the last level of {c:?} must be disagreement");
        }
    }

    #[test]
    fn codes_round_trip_and_read_as_words() {
        let w = Weight { comparison: Comparison::GivenName, level: 2, bits: 3.14 };
        assert_eq!(w.code(), "given:close:+3.1", "codes are short: field, level, weight to one place");
        let back = Weight::parse(&w.code()).expect("a code must parse back");
        assert_eq!((back.comparison, back.level), (w.comparison, w.level), "field and level survive the round trip");
        let (text, bits) = describe("email:same:+12.0");
        assert_eq!(text, "same email (×4,096)", "a weight is shown as the Bayes factor a bookkeeper can read");
        assert_eq!(bits, Some(12.0), "the weight itself is kept for signs and sorting");
        let (text, _) = describe("family:different:-5.0");
        assert_eq!(text, "different family name (÷32)", "evidence against is shown as a divisor");
        assert_eq!(describe("held back: would join two records of one system"), ("held back: would join two records of one system".to_string(), None), "notes pass through as written");
        assert!(Weight::parse("email:maybe:+1.0").is_none(), "an unknown level is not a code");
        for bits in [-39.96, -0.04, 0.0, 3.14, 59.95, 75.0] {
            let w = Weight { comparison: Comparison::Postcode, level: 3, bits };
            assert_eq!(w.shared_code(), w.code(), "a shared code reads as the code written afresh ({bits})");
        }
    }

    #[test]
    fn em_separates_matches_from_non_matches() {
        // 300 pairs agreeing on everything and 3,000 disagreeing on everything but region, plus noise.
        let all_same = ALL.iter().fold(Gamma::default(), |g, c| g.with(*c, SAME));
        let all_diff = ALL.iter().fold(Gamma::default(), |g, c| g.with(*c, if *c == Comparison::Region { SAME } else { c.different() }));
        let typo = all_same.with(Comparison::FamilyName, 2);
        let patterns = vec![(all_same, 300.0), (typo, 30.0), (all_diff, 3000.0)];
        let mut random = [[0.0; MAX_LEVELS + 1]; COMPARISONS];
        for _ in 0..1000 {
            count(&mut random, all_diff);
        }
        let trains: Vec<Comparison> = ALL.into_iter().filter(|c| *c != Comparison::Region).collect();
        let model = Model::train(&[Session { patterns: &patterns, trains: &trains }], &random, &patterns, 3330.0, [(0.0, 0.0); 5]);
        let lambda = model.lambda;
        assert!((lambda - 330.0 / 3330.0).abs() < 0.01, "the share of matches must be learnt from the data: {lambda}");
        assert!(model.probability_of_bits(model.total_bits(typo, &[0; 5])) > 0.99, "a pair agreeing everywhere but a typo is a match");
        assert!(model.probability_of_bits(model.total_bits(all_diff, &[0; 5])) < 0.01, "a pair disagreeing everywhere is not");
        assert!(model.weight(Comparison::FamilyName, 2) > 0.0, "a close spelling seen only among matches must count for a link");
    }

    #[test]
    fn rare_values_count_for_more() {
        let model = Model::train(&[], &[[0.0; MAX_LEVELS + 1]; COMPARISONS], &[], 1.0, [(10_000.0 * 10_000.0 / 100.0, 10_000.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]);
        assert!(model.tf_adjustment(0, 1) > model.tf_adjustment(0, 500), "a name one record holds must weigh more than one 500 hold");
        assert!(model.tf_adjustment(0, 1) <= TF_MAX, "the adjustment is bounded");
    }
}
