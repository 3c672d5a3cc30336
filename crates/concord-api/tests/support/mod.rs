//! What concord-api's integration tests share.

use std::collections::HashMap;

/// The groups that links make (their transitive closure), by union-find over record keys.
pub fn clusters(links: &[(String, String)]) -> Vec<Vec<String>> {
    fn root(p: &mut HashMap<String, String>, x: &str) -> String {
        let up = p.get(x).cloned().unwrap_or_else(|| x.to_string());
        if up == x {
            up
        } else {
            let r = root(p, &up);
            p.insert(x.to_string(), r.clone());
            r
        }
    }
    let mut parent: HashMap<String, String> = HashMap::new();
    for (a, b) in links {
        parent.entry(a.clone()).or_insert(a.clone());
        parent.entry(b.clone()).or_insert(b.clone());
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent.insert(ra, rb);
        }
    }
    let keys: Vec<String> = parent.keys().cloned().collect();
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for k in keys {
        let r = root(&mut parent, &k);
        groups.entry(r).or_default().push(k);
    }
    groups.into_values().collect()
}
