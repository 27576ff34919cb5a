//! Lifecycles as data: the transitions a status may take, and by which
//! command.
//!
//! [`InvitationStatus::LIFECYCLE`](crate::InvitationStatus::LIFECYCLE) and
//! [`MemberStatus::LIFECYCLE`](crate::MemberStatus::LIFECYCLE) are the one
//! definition of each lifecycle: the engine refuses a status change that is
//! not in its table, and the book's state diagrams are
//! [`Lifecycle::mermaid`] of them (a test compares the two), so neither the
//! code nor the picture can grow a transition the other lacks.

use crate::wire::WireEnum;

/// One edge of a lifecycle: `by` takes a `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition<S: 'static> {
    /// The status before.
    pub from: S,
    /// The status after.
    pub to: S,
    /// What does it: a command of the engine, or an event such as expiry.
    pub by: &'static str,
}

/// A status's whole lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle<S: 'static> {
    /// The status everything starts in.
    pub start: S,
    /// What creates it.
    pub created_by: &'static str,
    /// Every allowed change, in the order the diagram draws them.
    pub transitions: &'static [Transition<S>],
}

impl<S: Copy + PartialEq + WireEnum> Lifecycle<S> {
    /// Whether `by` may take `from` to `to`.
    pub fn allows(&self, from: S, to: S, by: &str) -> bool {
        self.transitions
            .iter()
            .any(|t| t.from == from && t.to == to && t.by == by)
    }

    /// The statuses nothing leaves, in declaration order.
    pub fn terminal(&self) -> Vec<S> {
        S::all()
            .iter()
            .copied()
            .filter(|s| !self.transitions.iter().any(|t| t.from == *s))
            .collect()
    }

    /// The lifecycle as a mermaid state diagram (without the code fence),
    /// states by their wire names.
    ///
    /// ```
    /// use enlist::MemberStatus;
    /// let diagram = MemberStatus::LIFECYCLE.mermaid();
    /// assert!(diagram.starts_with("stateDiagram-v2\n    [*] --> active: join\n"));
    /// assert!(diagram.ends_with("    removed --> [*]\n"));
    /// ```
    pub fn mermaid(&self) -> String {
        let mut out = String::from("stateDiagram-v2\n");
        out.push_str(&format!(
            "    [*] --> {}: {}\n",
            self.start.wire_name(),
            self.created_by
        ));
        for t in self.transitions {
            out.push_str(&format!(
                "    {} --> {}: {}\n",
                t.from.wire_name(),
                t.to.wire_name(),
                t.by
            ));
        }
        for s in self.terminal() {
            out.push_str(&format!("    {} --> [*]\n", s.wire_name()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{InvitationStatus as I, MemberStatus as M};

    #[test]
    fn every_status_is_reachable_from_the_start() {
        fn reachable<S: Copy + PartialEq + crate::wire::WireEnum>(
            l: &super::Lifecycle<S>,
        ) -> Vec<S> {
            let mut seen = vec![l.start];
            let mut i = 0;
            while i < seen.len() {
                let from = seen[i];
                for t in l.transitions.iter().filter(|t| t.from == from) {
                    if !seen.contains(&t.to) {
                        seen.push(t.to);
                    }
                }
                i += 1;
            }
            seen
        }
        assert_eq!(reachable(&I::LIFECYCLE).len(), I::ALL.len());
        assert_eq!(reachable(&M::LIFECYCLE).len(), M::ALL.len());
    }

    #[test]
    fn the_tables_say_what_the_concepts_chapters_say() {
        let l = I::LIFECYCLE;
        assert!(l.allows(I::Pending, I::Accepted, "accept"));
        assert!(l.allows(I::Expired, I::Pending, "resend"));
        assert!(!l.allows(I::Accepted, I::Pending, "resend"));
        assert!(!l.allows(I::Pending, I::Accepted, "decline"));
        assert_eq!(l.terminal(), [I::Accepted, I::Declined]);
        assert!(M::LIFECYCLE.allows(M::Inactive, M::Removed, "remove"));
        assert!(!M::LIFECYCLE.allows(M::Removed, M::Active, "reactivate"));
        assert_eq!(M::LIFECYCLE.terminal(), [M::Removed]);
    }
}
