//! Clustering: turning pairwise links into customers and sales.
//!
//! Links are merged strongest first (the bookkeeper's confirmed and manual
//! links before any score). Two clusters merge only when that introduces no
//! unobserved duplicate: if both hold a record from the same system, those two
//! records must themselves be linked. Without that rule one wrong link would
//! chain two real customers together through a third system. A merge is also
//! refused when a rejected pair would end up inside one cluster. A link that
//! cannot merge is reported back so the caller can downgrade it to a suggestion.

use std::collections::HashSet;

/// A link offered to the clusterer: record indices, score, and whether the
/// bookkeeper made it (forced links merge first, whatever their score).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub a: u32,
    pub b: u32,
    pub score: f64,
    pub forced: bool,
}

/// Packs an unordered pair into one key.
pub(crate) fn pair_key(a: u32, b: u32) -> u64 {
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    ((x as u64) << 32) | y as u64
}

/// The clusters: `root[i]` is the representative of record `i`'s cluster.
pub(crate) struct Clusters {
    pub root: Vec<u32>,
    /// Indices into the `edges` passed in that were refused.
    pub refused: Vec<usize>,
}

impl Clusters {
    /// Members of each cluster with more than one record, smallest index first.
    pub fn groups(&self) -> Vec<Vec<u32>> {
        self.all_groups().into_iter().filter(|g| g.len() > 1).collect()
    }

    /// Members of every cluster, singletons included, ordered by smallest member.
    pub fn all_groups(&self) -> Vec<Vec<u32>> {
        let flat = self.flat_groups();
        flat.ranges.iter().map(|&(a, b)| flat.members[a as usize..b as usize].to_vec()).collect()
    }

    /// Every cluster as a range of one flat member list (two allocations in
    /// all, however many clusters), ordered by smallest member; members
    /// ascend within each range.
    pub fn flat_groups(&self) -> FlatGroups {
        let mut members: Vec<u32> = (0..self.root.len() as u32).collect();
        members.sort_unstable_by_key(|&i| (self.root[i as usize], i));
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut start = 0;
        while start < members.len() {
            let r = self.root[members[start] as usize];
            let mut end = start + 1;
            while end < members.len() && self.root[members[end] as usize] == r {
                end += 1;
            }
            ranges.push((start as u32, end as u32));
            start = end;
        }
        ranges.sort_unstable_by_key(|&(a, _)| members[a as usize]);
        FlatGroups { members, ranges }
    }
}

/// Clusters as ranges (`start..end`) of one member list.
pub(crate) struct FlatGroups {
    pub members: Vec<u32>,
    pub ranges: Vec<(u32, u32)>,
}

impl FlatGroups {
    /// The members of cluster `range`.
    pub fn get(&self, range: (u32, u32)) -> &[u32] {
        &self.members[range.0 as usize..range.1 as usize]
    }
}

/// Clusters `n` records. `system` gives each record's connection; `cannot`
/// holds pairs (as [`pair_key`]) that must never share a cluster; `near` says
/// whether two records of one system, not linked themselves, are alike enough
/// to share a cluster through a third record (five mistyped copies of one
/// customer in a spreadsheet, a pair of them too far apart to link on their own),
/// where two different customers of one system must not.
pub(crate) fn cluster(n: usize, system: &[i64], edges: &[Edge], cannot: &HashSet<u64>, near: &dyn Fn(u32, u32) -> bool) -> Clusters {
    let accepted: HashSet<u64> = edges.iter().map(|e| pair_key(e.a, e.b)).collect();
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by(|&x, &y| {
        let (ex, ey) = (&edges[x], &edges[y]);
        ey.forced.cmp(&ex.forced).then(ey.score.total_cmp(&ex.score)).then(x.cmp(&y))
    });
    let mut parent: Vec<u32> = (0..n as u32).collect();
    // Members of each root; an empty list stands for the root alone (most
    // records never merge, so they cost no allocation).
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n];
    fn of(members: &[Vec<u32>], r: u32) -> std::borrow::Cow<'_, [u32]> {
        if members[r as usize].is_empty() {
            std::borrow::Cow::Owned(vec![r])
        } else {
            std::borrow::Cow::Borrowed(&members[r as usize])
        }
    }
    let mut refused = Vec::new();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for idx in order {
        let e = edges[idx];
        let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
        if ra == rb {
            continue;
        }
        let (ma, mb) = (of(&members, ra), of(&members, rb));
        let ok = ma.iter().all(|&x| {
            mb.iter().all(|&y| {
                let key = pair_key(x, y);
                !cannot.contains(&key) && (system[x as usize] != system[y as usize] || accepted.contains(&key) || near(x, y))
            })
        });
        if !ok {
            refused.push(idx);
            continue;
        }
        let (big, small) = if ma.len() >= mb.len() { (ra, rb) } else { (rb, ra) };
        drop((ma, mb));
        let moved = of(&members, small).into_owned();
        parent[small as usize] = big;
        members[small as usize] = Vec::new();
        if members[big as usize].is_empty() {
            members[big as usize].push(big);
        }
        members[big as usize].extend(moved);
    }
    let root = (0..n as u32).map(|i| find(&mut parent, i)).collect();
    Clusters { root, refused }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(a: u32, b: u32, score: f64) -> Edge {
        Edge { a, b, score, forced: false }
    }

    #[test]
    fn a_weak_link_cannot_chain_two_customers() {
        // 0 and 2 are in system 1; 1 is in system 2. 0-1 is strong, 1-2 weaker.
        let c = cluster(3, &[1, 2, 1], &[edge(0, 1, 0.99), edge(1, 2, 0.95)], &HashSet::new(), &|_, _| false);
        assert_eq!(c.root[0], c.root[1], "the strongest link must merge");
        assert_ne!(c.root[1], c.root[2], "merging would put two unlinked records of system 1 together");
        assert_eq!(c.refused, vec![1], "the refused link must be reported for downgrading");
    }

    #[test]
    fn a_linked_duplicate_may_join() {
        let c = cluster(3, &[1, 2, 1], &[edge(0, 1, 0.99), edge(1, 2, 0.95), edge(0, 2, 0.91)], &HashSet::new(), &|_, _| false);
        assert_eq!(c.root[0], c.root[2], "a duplicate linked to its twin may share the cluster");
        assert!(c.refused.is_empty(), "nothing should be refused when every same-system pair is linked");
    }

    #[test]
    fn a_suggested_duplicate_may_join_through_a_third_record() {
        let near = |x: u32, y: u32| pair_key(x, y) == pair_key(0, 2);
        let c = cluster(3, &[1, 2, 1], &[edge(0, 1, 0.99), edge(1, 2, 0.95)], &HashSet::new(), &near);
        assert_eq!(c.root[0], c.root[2], "two records of one system the model found alike may share a customer through a third");
        let cannot: HashSet<u64> = [pair_key(0, 2)].into_iter().collect();
        let c = cluster(3, &[1, 2, 1], &[edge(0, 1, 0.99), edge(1, 2, 0.95)], &cannot, &near);
        assert_ne!(c.root[0], c.root[2], "a rejection outweighs likeness");
    }

    #[test]
    fn rejections_hold() {
        let cannot: HashSet<u64> = [pair_key(0, 2)].into_iter().collect();
        let c = cluster(3, &[1, 2, 3], &[edge(0, 1, 0.99), edge(1, 2, 0.99)], &cannot, &|_, _| false);
        assert_ne!(c.root[0], c.root[2], "a rejected pair must not end up together through a third record");
    }
}
