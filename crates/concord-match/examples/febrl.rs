//! Concord's matcher on the Febrl deduplication benchmarks: precision, recall,
//! F1 and time per data set, as one line each (the bench script prints splink's
//! beside them). `bash scripts/bench/febrl.sh` runs both; alone:
//! `cargo run --release -p concord-match --example febrl -- [--show-model]`.
//! febrl4 is reserved for an independent check and is never read here.

#[path = "../tests/support/febrl.rs"]
mod febrl;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let show_model = std::env::args().any(|a| a == "--show-model");
    for name in ["febrl1", "febrl2", "febrl3"] {
        let d = match febrl::load(name) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let started = std::time::Instant::now();
        let p = febrl::run(&d);
        let took = started.elapsed();
        let s = febrl::Score::of(&febrl::auto_pairs(&p), &d.truth);
        println!(
            "concord {name}: records {} truth {} found {} P={:.4} R={:.4} F1={:.4} {:.2}s",
            d.records.parties.len(),
            s.truth,
            s.found,
            s.precision,
            s.recall,
            s.f1,
            took.as_secs_f64()
        );
        let c = febrl::Score::of(&febrl::customer_pairs(&p), &d.truth);
        println!("        {name} as customers (pairs within each linked customer): P={:.4} R={:.4} F1={:.4}", c.precision, c.recall, c.f1);
        if std::env::args().any(|a| a == "--diagnose") {
            let id = |k: &str| k.splitn(3, '/').nth(2).unwrap_or(k).to_string();
            let found = febrl::auto_pairs(&p);
            let links: std::collections::HashMap<(String, String), &concord_match::Link> = p.links.iter().map(|l| ((id(&l.left), id(&l.right)), l)).collect();
            let by_id: std::collections::HashMap<String, &concord_core::model::Party> = d.records.parties.iter().map(|x| (x.source.external_id.clone(), x)).collect();
            let show = |x: &str| {
                let r = by_id[x];
                format!("{} {} | {:?} | {} {}", r.given_name.as_deref().unwrap_or(""), r.family_name.as_deref().unwrap_or(""), r.addresses.first().map(|a| a.lines.clone()), r.addresses.first().and_then(|a| a.city.clone()).unwrap_or_default(), r.addresses.first().and_then(|a| a.postcode.clone()).unwrap_or_default())
            };
            let missed: Vec<&(String, String)> = d.truth.iter().filter(|t| !found.contains(*t)).collect();
            let (linked, absent): (Vec<_>, Vec<_>) = missed.iter().partition(|t| links.contains_key(**t));
            println!("  missed {}: {} scored below auto, {} not proposed at the suggestion threshold", missed.len(), linked.len(), absent.len());
            let held = linked.iter().filter(|t| links[**t].evidence.iter().any(|e| e.starts_with("held back: would join"))).count();
            let mut buckets = [0usize; 5];
            for t in &linked {
                let sc = links[*t].score;
                buckets[if sc >= 0.9 { 4 } else if sc >= 0.8 { 3 } else if sc >= 0.7 { 2 } else if sc >= 0.6 { 1 } else { 0 }] += 1;
            }
            println!("  held back by clustering: {held}; missed by score <0.6 {} 0.6-0.7 {} 0.7-0.8 {} 0.8-0.9 {} >=0.9 {}", buckets[0], buckets[1], buckets[2], buckets[3], buckets[4]);
            let mut wrong_scores: Vec<f64> = p.links.iter().filter(|l| !d.truth.contains(&(id(&l.left).min(id(&l.right)), id(&l.left).max(id(&l.right))))).map(|l| l.score).collect();
            wrong_scores.sort_by(|a, b| b.total_cmp(a));
            println!("  highest scores of false pairs: {:?}", &wrong_scores[..wrong_scores.len().min(12)]);
            for t in linked.iter().take(8) {
                let l = links[*t];
                println!("    {:.3} {} <> {}  [{}]", l.score, show(&t.0), show(&t.1), l.evidence.join(" "));
            }
            for t in absent.iter().take(8) {
                println!("    absent {} <> {}", show(&t.0), show(&t.1));
            }
            for t in found.difference(&d.truth).take(5) {
                let l = links[t];
                println!("    wrong {:.3} {} <> {}  [{}]", l.score, show(&t.0), show(&t.1), l.evidence.join(" "));
            }
        }
        if show_model {
            if let Some(m) = &p.model {
                println!("  lambda {:.4} after {} EM iterations; candidates {}", m.lambda, m.iterations, p.stats.party_candidates);
                for c in concord_match::fs::ALL {
                    let t: Vec<String> = m.table(c).iter().map(|(l, mm, u)| format!("{l} m={mm:.3} u={u:.4}")).collect();
                    println!("  {c:?}: {}", t.join(", "));
                }
            }
        }
    }
}
