//! The request state machine, mirroring the 14 steps of the service-request process.
//!
//! ```text
//! draft --connection-missing--> connection-required --connection-established--> draft
//! draft | details-entered | deficiencies-reported | returned-for-changes
//!       --enter-details--> details-entered
//! details-entered --report-deficiencies--> deficiencies-reported
//! details-entered --submit--> submitted --claim--> under-review
//! under-review --approve--> approved | --reject--> rejected | --return--> returned-for-changes
//! any open state except under-review --withdraw--> withdrawn
//! ```
//! A renewal is the lighter kind: the grant it renews proves the bus connection, so it never
//! goes through connection-required.
//!
//! ```
//! use gica_exchange::{Action, RequestKind, State, transition};
//! let s = transition(RequestKind::New, State::Draft, Action::EnterDetails).unwrap();
//! assert_eq!(s, State::DetailsEntered);
//! let e = transition(RequestKind::New, s, Action::Approve).unwrap_err();
//! assert_eq!(e.state, State::DetailsEntered);
//! ```

use std::fmt;

/// Which kind of request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// A first request for a service.
    New,
    /// A new certificate for a service already granted: fewer steps.
    Renewal,
}

impl RequestKind {
    /// `new` or `renewal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Renewal => "renewal",
        }
    }

    /// The inverse of [`RequestKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::New, Self::Renewal]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Created, nothing entered yet (steps 1-3).
    Draft,
    /// The agency must first connect to the bus (step 5).
    ConnectionRequired,
    /// Bus, system, CSR, permit, service and contact entered (steps 6-10).
    DetailsEntered,
    /// The completeness check found deficiencies (step 12).
    DeficienciesReported,
    /// Complete and submitted (step 14).
    Submitted,
    /// An expert has claimed it.
    UnderReview,
    /// Approved: a certificate was issued.
    Approved,
    /// Rejected, with reasons.
    Rejected,
    /// Sent back to the agency for changes.
    ReturnedForChanges,
    /// Withdrawn by the agency.
    Withdrawn,
}

impl State {
    /// Every state, in process order.
    pub const ALL: [State; 10] = [
        State::Draft,
        State::ConnectionRequired,
        State::DetailsEntered,
        State::DeficienciesReported,
        State::Submitted,
        State::UnderReview,
        State::Approved,
        State::Rejected,
        State::ReturnedForChanges,
        State::Withdrawn,
    ];

    /// The kebab-case name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::ConnectionRequired => "connection-required",
            State::DetailsEntered => "details-entered",
            State::DeficienciesReported => "deficiencies-reported",
            State::Submitted => "submitted",
            State::UnderReview => "under-review",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::ReturnedForChanges => "returned-for-changes",
            State::Withdrawn => "withdrawn",
        }
    }

    /// The inverse of [`State::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the request is still open: it blocks a second request for the same agency,
    /// system and service, and grants nothing yet.
    pub fn is_open(self) -> bool {
        !matches!(self, State::Approved | State::Rejected | State::Withdrawn)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Step 4 found no connection to the chosen bus.
    ConnectionMissing,
    /// The agency completed the connection process.
    ConnectionEstablished,
    /// The agency entered or changed the details (steps 6-10, 13).
    EnterDetails,
    /// The completeness check found deficiencies (steps 11-12).
    ReportDeficiencies,
    /// The agency submitted a complete request (step 14).
    Submit,
    /// An expert claimed it.
    Claim,
    /// The expert approved it.
    Approve,
    /// The expert rejected it.
    Reject,
    /// The expert returned it for changes.
    Return,
    /// The agency withdrew it.
    Withdraw,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 10] = [
        Action::ConnectionMissing,
        Action::ConnectionEstablished,
        Action::EnterDetails,
        Action::ReportDeficiencies,
        Action::Submit,
        Action::Claim,
        Action::Approve,
        Action::Reject,
        Action::Return,
        Action::Withdraw,
    ];

    /// The kebab-case name used in the API and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ConnectionMissing => "connection-missing",
            Action::ConnectionEstablished => "connection-established",
            Action::EnterDetails => "enter-details",
            Action::ReportDeficiencies => "report-deficiencies",
            Action::Submit => "submit",
            Action::Claim => "claim",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Return => "return",
            Action::Withdraw => "withdraw",
        }
    }

    /// The inverse of [`Action::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the state machine does not allow; names the state the request is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{action} is not allowed on a {kind} request in state {state}", kind = kind.as_str())]
pub struct IllegalMove {
    /// The kind of request.
    pub kind: RequestKind,
    /// The state it is in.
    pub state: State,
    /// What was tried.
    pub action: Action,
}

/// The transition table: the state `action` leads to from `from`, or the refusal.
pub fn transition(kind: RequestKind, from: State, action: Action) -> Result<State, IllegalMove> {
    use Action as A;
    use State as S;
    let to = match (kind, from, action) {
        (RequestKind::New, S::Draft, A::ConnectionMissing) => S::ConnectionRequired,
        (RequestKind::New, S::ConnectionRequired, A::ConnectionEstablished) => S::Draft,
        (
            _,
            S::Draft | S::DetailsEntered | S::DeficienciesReported | S::ReturnedForChanges,
            A::EnterDetails,
        ) => S::DetailsEntered,
        (_, S::DetailsEntered, A::ReportDeficiencies) => S::DeficienciesReported,
        (_, S::DetailsEntered, A::Submit) => S::Submitted,
        (_, S::Submitted, A::Claim) => S::UnderReview,
        (_, S::UnderReview, A::Approve) => S::Approved,
        (_, S::UnderReview, A::Reject) => S::Rejected,
        (_, S::UnderReview, A::Return) => S::ReturnedForChanges,
        // A renewal is never in connection-required, so it cannot leave it either.
        (k, s, A::Withdraw)
            if s.is_open()
                && s != S::UnderReview
                && !(k == RequestKind::Renewal && s == S::ConnectionRequired) =>
        {
            S::Withdrawn
        }
        _ => {
            return Err(IllegalMove {
                kind,
                state: from,
                action,
            });
        }
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use Action as A;
    use State as S;

    /// Every legal move of a new request, written out independently of the match above.
    const NEW_LEGAL: &[(State, Action, State)] = &[
        (S::Draft, A::ConnectionMissing, S::ConnectionRequired),
        (S::ConnectionRequired, A::ConnectionEstablished, S::Draft),
        (S::Draft, A::EnterDetails, S::DetailsEntered),
        (S::DetailsEntered, A::EnterDetails, S::DetailsEntered),
        (S::DeficienciesReported, A::EnterDetails, S::DetailsEntered),
        (S::ReturnedForChanges, A::EnterDetails, S::DetailsEntered),
        (
            S::DetailsEntered,
            A::ReportDeficiencies,
            S::DeficienciesReported,
        ),
        (S::DetailsEntered, A::Submit, S::Submitted),
        (S::Submitted, A::Claim, S::UnderReview),
        (S::UnderReview, A::Approve, S::Approved),
        (S::UnderReview, A::Reject, S::Rejected),
        (S::UnderReview, A::Return, S::ReturnedForChanges),
        (S::Draft, A::Withdraw, S::Withdrawn),
        (S::ConnectionRequired, A::Withdraw, S::Withdrawn),
        (S::DetailsEntered, A::Withdraw, S::Withdrawn),
        (S::DeficienciesReported, A::Withdraw, S::Withdrawn),
        (S::Submitted, A::Withdraw, S::Withdrawn),
        (S::ReturnedForChanges, A::Withdraw, S::Withdrawn),
    ];

    fn legal(kind: RequestKind) -> Vec<(State, Action, State)> {
        NEW_LEGAL
            .iter()
            .copied()
            .filter(|(from, a, _)| {
                kind == RequestKind::New
                    || !(matches!(a, A::ConnectionMissing | A::ConnectionEstablished)
                        || *from == S::ConnectionRequired)
            })
            .collect()
    }

    #[test]
    fn every_move_is_legal_or_refused_naming_the_state() {
        for kind in [RequestKind::New, RequestKind::Renewal] {
            let legal = legal(kind);
            let mut allowed = 0;
            for from in State::ALL {
                for action in Action::ALL {
                    let want = legal.iter().find(|(f, a, _)| *f == from && *a == action);
                    match (transition(kind, from, action), want) {
                        (Ok(to), Some((_, _, want_to))) => {
                            assert_eq!(to, *want_to, "{kind:?} {from} {action}");
                            allowed += 1;
                        }
                        (Err(e), None) => {
                            assert_eq!(
                                e,
                                IllegalMove {
                                    kind,
                                    state: from,
                                    action
                                }
                            );
                            assert!(e.to_string().contains(from.as_str()), "{e}");
                        }
                        (got, want) => {
                            panic!("{kind:?} {from} {action}: got {got:?}, want {want:?}")
                        }
                    }
                }
            }
            assert_eq!(allowed, legal.len());
        }
        assert_eq!(legal(RequestKind::Renewal).len(), NEW_LEGAL.len() - 3);
    }

    #[test]
    fn terminal_states_are_closed_and_final() {
        for s in State::ALL {
            let terminal = Action::ALL
                .into_iter()
                .all(|a| transition(RequestKind::New, s, a).is_err());
            assert_eq!(terminal, !s.is_open(), "{s}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        for k in [RequestKind::New, RequestKind::Renewal] {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(State::parse("Draft"), None);
    }
}
