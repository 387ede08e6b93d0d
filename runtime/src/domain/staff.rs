//! Who may do what in a business: the staff roles, the actions the console
//! and the API guard, the one permission check ([`Role::may`]), and the
//! scopes of machine API keys ([`Scope::allows`]). Plain data: the console's
//! pages and the API's routes ask here, and nowhere else decides.

use super::stored_state;

stored_state! {
    /// A staff member's role in their business.
    Role("role") {
        /// Everything, the team and billing included.
        Owner = "owner",
        /// Everything but the team and billing.
        Admin = "admin",
        /// The inbox (read, reply, take, release) and orders (read, ship).
        Agent = "agent",
        /// Reads everything an admin reads, changes nothing.
        Viewer = "viewer",
    }
}

stored_state! {
    /// What a machine API key may reach.
    Scope("scope") {
        /// Everything the business's own API key reaches.
        Full = "full",
        /// The catalog (products, import, images), read and write.
        Catalog = "catalog",
        /// Every read, no change.
        ReadOnly = "read_only",
    }
}

/// What a person does in the console (or an API route asks for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The home page: today's orders, waiting conversations, the bot's health.
    ViewHome,
    /// Read conversations, their carts and the customer's orders.
    ViewInbox,
    /// Take, reply in and release a conversation.
    Answer,
    ViewOrders,
    ShipOrders,
    /// Deliver, cancel and refund orders.
    ManageOrders,
    ViewCatalog,
    EditCatalog,
    ViewBot,
    /// Upload, activate and roll back plugin versions; automations; channels.
    ManageBot,
    /// Invite, change roles, remove people; machine API keys.
    ManageTeam,
    /// The business's usage, its upcoming invoice, its invoices and its plan.
    ManageBilling,
    /// Customers' data rights (export, erasure), retention, the audit trail.
    ManagePrivacy,
}

impl Role {
    /// Whether someone with this role may do `action`: the one check.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(action, ManageTeam | ManageBilling),
            Role::Agent => matches!(action, ViewHome | ViewInbox | Answer | ViewOrders | ShipOrders),
            Role::Viewer => matches!(action, ViewHome | ViewInbox | ViewOrders | ViewCatalog | ViewBot),
        }
    }

    /// Roles an inviter may give: an owner any, nobody else any (the team is the owner's).
    pub fn may_invite(self, invited: Role) -> bool {
        self == Role::Owner || (self.may(Action::ManageTeam) && invited != Role::Owner)
    }
}

/// What an API route needs of a machine key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A read (GET) outside the catalog.
    Read,
    /// A read of the catalog.
    CatalogRead,
    /// A change to the catalog.
    CatalogWrite,
    /// Any other change.
    Write,
    /// The team and the business's keys: the full key only.
    Team,
}

impl Scope {
    /// Whether a key with this scope may reach a route needing `need`.
    pub fn allows(self, need: Need) -> bool {
        match self {
            Scope::Full => true,
            Scope::Catalog => matches!(need, Need::CatalogRead | Need::CatalogWrite),
            Scope::ReadOnly => matches!(need, Need::Read | Need::CatalogRead),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_what_the_issue_says() {
        use Action::*;
        let all = [
            ViewHome,
            ViewInbox,
            Answer,
            ViewOrders,
            ShipOrders,
            ManageOrders,
            ViewCatalog,
            EditCatalog,
            ViewBot,
            ManageBot,
            ManageTeam,
            ManageBilling,
            ManagePrivacy,
        ];
        assert!(all.iter().all(|&a| Role::Owner.may(a)));
        assert!(!Role::Admin.may(ManageTeam) && !Role::Admin.may(ManageBilling) && Role::Admin.may(ManageBot));
        assert!(Role::Agent.may(Answer) && Role::Agent.may(ShipOrders));
        assert!(!Role::Agent.may(ViewBot) && !Role::Agent.may(ManageOrders) && !Role::Agent.may(ViewCatalog));
        assert!(Role::Viewer.may(ViewBot) && !Role::Viewer.may(Answer) && !Role::Viewer.may(EditCatalog));
        assert!(Role::Admin.may(ManagePrivacy) && !Role::Agent.may(ManagePrivacy) && !Role::Viewer.may(ManagePrivacy));
        assert!(Role::Owner.may_invite(Role::Owner) && !Role::Admin.may_invite(Role::Agent));
    }

    #[test]
    fn scopes_reach_what_they_say() {
        assert!(Scope::Catalog.allows(Need::CatalogWrite) && !Scope::Catalog.allows(Need::Read));
        assert!(Scope::ReadOnly.allows(Need::CatalogRead) && !Scope::ReadOnly.allows(Need::CatalogWrite));
        assert!(!Scope::ReadOnly.allows(Need::Team) && Scope::Full.allows(Need::Team));
    }
}
