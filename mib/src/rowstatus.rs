//! RowStatus (RFC 2579, SNMPv2-TC) and its state machine.

use crate::error::{ErrorStatus, SetError};
use vpn_core::{RowState, Storage};

/// Values of a RowStatus object.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RowStatus {
    Active = 1,
    NotInService = 2,
    NotReady = 3,
    CreateAndGo = 4,
    CreateAndWait = 5,
    Destroy = 6,
}

impl RowStatus {
    /// A value a manager may write; `notReady` and out-of-range values are
    /// wrongValue (RFC 2579: notReady "may not be specified" in a set).
    pub fn from_set(v: i32) -> Result<RowStatus, ErrorStatus> {
        Ok(match v {
            1 => RowStatus::Active,
            2 => RowStatus::NotInService,
            4 => RowStatus::CreateAndGo,
            5 => RowStatus::CreateAndWait,
            6 => RowStatus::Destroy,
            _ => return Err(ErrorStatus::WrongValue),
        })
    }

    /// The value a read returns for a stored row state.
    pub fn of(state: RowState) -> i32 {
        state as i32
    }
}

/// Where a row goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Next {
    /// The row exists (afterwards) in this state.
    Exists(RowState),
    /// The row does not exist afterwards.
    Absent,
}

/// The RFC 2579 state table. `current` is the row's state when the PDU
/// arrived (`None`: state A, no row); `action` the RowStatus value the PDU
/// writes (`None`: the PDU only writes other columns of the row); `complete`
/// whether every column without a default has a value once the PDU's other
/// columns are applied. Column mutability while active (note 5) and row
/// consistency (note 8) are the table's own checks.
pub fn transition(
    current: Option<RowState>,
    action: Option<RowStatus>,
    complete: bool,
) -> Result<Next, ErrorStatus> {
    use ErrorStatus::*;
    use RowState as S;
    use RowStatus as A;
    let ready = if complete {
        S::NotInService
    } else {
        S::NotReady
    };
    match (current, action) {
        (_, Some(A::NotReady)) => Err(WrongValue),
        (None, Some(A::CreateAndGo)) if complete => Ok(Next::Exists(S::Active)),
        (None, Some(A::CreateAndGo)) => Err(InconsistentValue),
        (None, Some(A::CreateAndWait)) => Ok(Next::Exists(ready)),
        (None, Some(A::Active | A::NotInService)) => Err(InconsistentValue),
        (None, Some(A::Destroy)) => Ok(Next::Absent),
        // note 4: rows are created only through their RowStatus
        (None, None) => Err(InconsistentName),
        (Some(_), Some(A::CreateAndGo | A::CreateAndWait)) => Err(InconsistentValue),
        (Some(_), Some(A::Destroy)) => Ok(Next::Absent),
        (Some(S::NotReady), Some(A::Active)) if complete => Ok(Next::Exists(S::Active)),
        (Some(S::NotReady), Some(A::NotInService)) if complete => Ok(Next::Exists(S::NotInService)),
        (Some(S::NotReady), Some(A::Active | A::NotInService)) => Err(InconsistentValue),
        (Some(S::NotReady), None) => Ok(Next::Exists(ready)),
        (Some(S::NotInService | S::Active), Some(A::Active)) => Ok(Next::Exists(S::Active)),
        (Some(S::NotInService | S::Active), Some(A::NotInService)) => {
            Ok(Next::Exists(S::NotInService))
        }
        (Some(s), None) => Ok(Next::Exists(s)),
    }
}

// ---- edits of read-create rows, shared by the SNMPv3 and notification tables ----

/// The writes of one PDU to one row: (original 1-based varbind index, column).
pub(crate) struct Edit<C> {
    pub key: Vec<u8>,
    pub cols: Vec<(usize, C)>,
}

pub(crate) fn group_by<C>(edits: &mut Vec<Edit<C>>, key: Vec<u8>, idx: usize, c: C) {
    match edits.iter_mut().find(|e| e.key == key) {
        Some(e) => e.cols.push((idx, c)),
        None => edits.push(Edit {
            key,
            cols: vec![(idx, c)],
        }),
    }
}

/// What every table shares: StorageType rules, columns frozen while active,
/// the RowStatus transition and completeness. Returns where the row goes.
pub(crate) struct RowRules {
    pub existing: Option<(Storage, RowState)>,
    pub status: Option<(usize, RowStatus)>,
    pub storage_col: Option<usize>,
    /// The first write to a column that may not change while active.
    pub frozen_col: Option<usize>,
    pub first: usize,
    pub complete: bool,
}

impl RowRules {
    pub fn next(self) -> Result<Next, SetError> {
        use ErrorStatus::{InconsistentValue, NotWritable, WrongValue};
        let status_idx = self.status.map_or(self.first, |(i, _)| i);
        if let Some((st, state)) = self.existing {
            if st == Storage::ReadOnly {
                return Err(SetError::new(NotWritable, self.first));
            }
            if st == Storage::Permanent {
                if let Some(i) = self.storage_col {
                    return Err(SetError::new(WrongValue, i));
                }
                if matches!(self.status, Some((_, RowStatus::Destroy))) {
                    return Err(SetError::new(InconsistentValue, status_idx));
                }
            }
            let leaves_active = matches!(
                self.status,
                Some((_, RowStatus::NotInService | RowStatus::Destroy))
            );
            if state == RowState::Active && !leaves_active {
                if let Some(i) = self.frozen_col {
                    return Err(SetError::new(InconsistentValue, i));
                }
            }
        }
        let next = transition(
            self.existing.map(|e| e.1),
            self.status.map(|s| s.1),
            self.complete,
        )
        .map_err(|e| SetError::new(e, status_idx))?;
        if let Next::Exists(RowState::Active | RowState::NotInService) = next {
            if !self.complete {
                return Err(SetError::new(InconsistentValue, status_idx));
            }
        }
        Ok(next)
    }
}

pub(crate) fn last_status<C>(
    cols: &[(usize, C)],
    f: impl Fn(&C) -> Option<RowStatus>,
) -> Option<(usize, RowStatus)> {
    cols.iter().rev().find_map(|(i, c)| f(c).map(|s| (*i, s)))
}

pub(crate) fn first_where<C>(cols: &[(usize, C)], f: impl Fn(&C) -> bool) -> Option<usize> {
    cols.iter().find(|(_, c)| f(c)).map(|(i, _)| *i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorStatus::*;
    use Next::*;
    use RowState as S;
    use RowStatus as A;

    /// Every (state, action) pair of the RFC 2579 table, with complete and
    /// incomplete rows.
    #[test]
    fn rfc2579_table() {
        let states = [
            None,
            Some(S::NotReady),
            Some(S::NotInService),
            Some(S::Active),
        ];
        let actions = [
            Some(A::CreateAndGo),
            Some(A::CreateAndWait),
            Some(A::Active),
            Some(A::NotInService),
            Some(A::Destroy),
            None,
        ];
        #[rustfmt::skip]
        let complete: [[Result<Next, ErrorStatus>; 6]; 4] = [
            // createAndGo,        createAndWait,             active,                  notInService,                  destroy,    other column
            [Ok(Exists(S::Active)), Ok(Exists(S::NotInService)), Err(InconsistentValue), Err(InconsistentValue),     Ok(Absent), Err(InconsistentName)],
            [Err(InconsistentValue), Err(InconsistentValue), Ok(Exists(S::Active)), Ok(Exists(S::NotInService)),      Ok(Absent), Ok(Exists(S::NotInService))],
            [Err(InconsistentValue), Err(InconsistentValue), Ok(Exists(S::Active)), Ok(Exists(S::NotInService)),      Ok(Absent), Ok(Exists(S::NotInService))],
            [Err(InconsistentValue), Err(InconsistentValue), Ok(Exists(S::Active)), Ok(Exists(S::NotInService)),      Ok(Absent), Ok(Exists(S::Active))],
        ];
        #[rustfmt::skip]
        let incomplete: [[Result<Next, ErrorStatus>; 6]; 4] = [
            [Err(InconsistentValue), Ok(Exists(S::NotReady)), Err(InconsistentValue), Err(InconsistentValue),         Ok(Absent), Err(InconsistentName)],
            [Err(InconsistentValue), Err(InconsistentValue), Err(InconsistentValue), Err(InconsistentValue),          Ok(Absent), Ok(Exists(S::NotReady))],
            [Err(InconsistentValue), Err(InconsistentValue), Ok(Exists(S::Active)), Ok(Exists(S::NotInService)),      Ok(Absent), Ok(Exists(S::NotInService))],
            [Err(InconsistentValue), Err(InconsistentValue), Ok(Exists(S::Active)), Ok(Exists(S::NotInService)),      Ok(Absent), Ok(Exists(S::Active))],
        ];
        for (si, s) in states.iter().enumerate() {
            for (ai, a) in actions.iter().enumerate() {
                assert_eq!(
                    transition(*s, *a, true),
                    complete[si][ai],
                    "complete {s:?} {a:?}"
                );
                assert_eq!(
                    transition(*s, *a, false),
                    incomplete[si][ai],
                    "incomplete {s:?} {a:?}"
                );
            }
            assert_eq!(transition(*s, Some(A::NotReady), true), Err(WrongValue));
        }
    }

    #[test]
    fn set_values() {
        assert_eq!(RowStatus::from_set(3), Err(WrongValue));
        assert_eq!(RowStatus::from_set(0), Err(WrongValue));
        assert_eq!(RowStatus::from_set(7), Err(WrongValue));
        assert_eq!(RowStatus::from_set(4), Ok(RowStatus::CreateAndGo));
    }
}
