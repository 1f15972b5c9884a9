//! The immutable part of the simulated world built from a scenario (accounts and their
//! generators, indexed by key), and who a bearer key belongs to.

use std::collections::HashMap;

use crate::scenario::{AccountSpec, Scenario};
use crate::store::Generator;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The manager (master) key.
    Manager,
    /// A managed account's own key (index into `World::accounts`).
    Account(usize),
}

#[derive(Debug)]
pub(crate) struct World {
    pub manager_account_id: String,
    pub master_key: String,
    pub accounts: Vec<AccountSpec>,
    pub generators: Vec<Option<Generator>>,
    by_key: HashMap<String, usize>,
}

impl World {
    pub(crate) fn new(scenario: Scenario) -> World {
        let by_key = scenario
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.api_key.clone(), i))
            .collect();
        let generators = scenario
            .accounts
            .iter()
            .map(|a| a.generate.as_ref().map(|g| Generator::new(g, &a.id)))
            .collect();
        World {
            manager_account_id: scenario.manager_account_id,
            master_key: scenario.master_key,
            accounts: scenario.accounts,
            generators,
            by_key,
        }
    }

    /// The caller a key names, if any (revocation is checked elsewhere).
    pub(crate) fn caller(&self, key: &str) -> Option<Caller> {
        if key == self.master_key {
            Some(Caller::Manager)
        } else {
            self.by_key.get(key).map(|i| Caller::Account(*i))
        }
    }

    pub(crate) fn account_index(&self, account_id: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.id == account_id)
    }
}
