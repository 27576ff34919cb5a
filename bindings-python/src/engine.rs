//! `enlist.Enlist`: the engine, every operation a method with keyword
//! arguments. Each method converts its arguments, releases the GIL while
//! the engine (and its store) works, and converts the result or the error.

use crate::convert::{utc_in, wire_in};
use crate::errors::{OrRaise, invalid};
use crate::inputs::{ActorRef, Grants, PyManualClock};
use crate::mail::PyMailer;
use crate::types::PyBatchReport;
use crate::types::PyDeadLetterPage;
use crate::types::PyLinkPage;
use crate::types::PyPersonPage;
use crate::types::{PyAccountMembershipPage, PyOrganizationPage};
use crate::types::{
    PyEvent, PyImportReport, PyInvitationPage, PyInviteReport, PyIssuedInvitation, PyMemberPage,
    PySendReport, wrap,
};
use chrono::{DateTime, Utc};
use enlist::{Enlist, GroupId, InvitationId, MemberId, OrgId, Registration};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// The engine: organizations, groups, members, invitations, the link, the
/// outbox and the audit trail, over one store.
///
/// Make one with `Enlist.in_memory()`, `Enlist.sqlite(path)` or
/// `Enlist.postgres(url)`. It is cheap to share and safe to use from
/// several threads; every method releases the GIL while it works.
#[pyclass(frozen, name = "Enlist", module = "enlist._enlist")]
pub struct PyEnlist {
    engine: Enlist,
    store: String,
}

/// The engine options every constructor takes as keywords (`**options`;
/// the stub lists them), read once here: any other keyword is a
/// `TypeError`, as for a function that names its parameters.
const OPTIONS: [&str; 9] = [
    "clock",
    "product_name",
    "accept_url_base",
    "allowed_accept_url_bases",
    "retry",
    "secret_key",
    "sealing_keys",
    "allowed_redirect_urls",
    "link_keys",
];

/// The options, checked: what a store needs to become an engine.
pub(crate) struct Settled {
    clock: Option<Arc<enlist::ManualClock>>,
    seed: Option<u64>,
    key: Option<enlist::SecretKey>,
    config: enlist::EngineConfig,
    /// `sealing_keys=[(id, key), ...]`: the first seals, all open.
    sealing: Vec<enlist::SealingKey>,
    /// `link_keys=[key, ...]`: the first derives new link secrets, all
    /// show a link's URL again (ADR 0013).
    links: Vec<enlist::SecretKey>,
}

/// The keyword `name` of `options` (`None` when absent or `None`),
/// converted; a value of the wrong type is a `TypeError` naming it.
fn option<'py, T: FromPyObjectOwned<'py>>(
    options: Option<&Bound<'py, PyDict>>,
    name: &str,
) -> PyResult<Option<T>> {
    let Some(value) = options.map(|o| o.get_item(name)).transpose()?.flatten() else {
        return Ok(None);
    };
    if value.is_none() {
        return Ok(None);
    }
    value.extract::<T>().map(Some).map_err(|e| {
        let e: PyErr = e.into();
        PyTypeError::new_err(format!("argument '{name}': {e}"))
    })
}

impl Settled {
    /// Checks the options before any store is opened: an unknown keyword
    /// is a `TypeError`; the settings go through `EngineConfig::validated`
    /// (a bad product name or accept URL base raises `InvalidInputError`,
    /// never falls back silently) and a `secret_key` shorter than 32 bytes
    /// raises `InvalidInputError`.
    fn new(
        py: Python<'_>,
        method: &str,
        seed: Option<u64>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        for key in options.map(|o| o.keys()).into_iter().flatten() {
            let key: String = key.extract()?;
            if !OPTIONS.contains(&key.as_str()) {
                return Err(PyTypeError::new_err(format!(
                    "Enlist.{method}() got an unexpected keyword argument '{key}'"
                )));
            }
        }
        let key = option::<Vec<u8>>(options, "secret_key")?
            .map(enlist::SecretKey::new)
            .transpose()
            .or_raise(py)?;
        // At most 17 keys (the current one and 16 retired), each checked
        // by `SealingKey::new` (exactly 32 bytes, a short id).
        let sealing_in =
            option::<Vec<(String, Vec<u8>)>>(options, "sealing_keys")?.unwrap_or_default();
        if sealing_in.len() > 17 {
            return Err(invalid(
                py,
                "sealing_keys",
                "at most 17 keys: the current one and 16 retired",
            ));
        }
        let sealing = sealing_in
            .into_iter()
            .map(|(id, key)| enlist::SealingKey::new(id, key))
            .collect::<enlist::Result<Vec<_>>>()
            .or_raise(py)?;
        // At most 17 link keys (the current one and 16 retired), each at
        // least 32 bytes (`SecretKey::new`).
        let links_in = option::<Vec<Vec<u8>>>(options, "link_keys")?.unwrap_or_default();
        if links_in.len() > 17 {
            return Err(invalid(
                py,
                "link_keys",
                "at most 17 keys: the current one and 16 retired",
            ));
        }
        let links = links_in
            .into_iter()
            .map(enlist::SecretKey::new)
            .collect::<enlist::Result<Vec<_>>>()
            .or_raise(py)?;
        let mut config = enlist::EngineConfig::default();
        if let Some(name) = option(options, "product_name")? {
            config.product_name = name;
        }
        if let Some(base) = option(options, "accept_url_base")? {
            config.default_accept_url_base = base;
        }
        if let Some(bases) = option(options, "allowed_accept_url_bases")? {
            config.allowed_accept_url_bases = bases;
        }
        if let Some(urls) = option(options, "allowed_redirect_urls")? {
            config.allowed_redirect_urls = urls;
        }
        if let Some(retry) = option::<Bound<'_, enlist::RetryPolicy>>(options, "retry")? {
            config.retry = retry.get().clone();
        }
        let config = config.validated().or_raise(py)?;
        let clock = option::<Bound<'_, PyManualClock>>(options, "clock")?;
        Ok(Settled {
            clock: clock.map(|c| c.get().inner.clone()),
            seed,
            key,
            config,
            sealing,
            links,
        })
    }

    /// The engine over `store`.
    fn engine(
        self,
        py: Python<'_>,
        store: Arc<dyn enlist::Store>,
        description: String,
    ) -> PyResult<PyEnlist> {
        let mut engine = Enlist::new(store);
        if let Some(clock) = self.clock {
            engine = engine.with_clock(clock);
        }
        if let Some(seed) = self.seed {
            engine = engine.with_secrets(Arc::new(enlist::SeededSecrets::new(seed)));
        }
        if let Some(key) = self.key {
            engine = engine.with_secret_key(key);
        }
        let mut keys = self.sealing.into_iter();
        if let Some(current) = keys.next() {
            engine = engine
                .with_sealing_keys(current, keys.collect())
                .or_raise(py)?;
        }
        let mut links = self.links.into_iter();
        if let Some(current) = links.next() {
            engine = engine
                .with_link_keys(current, links.collect())
                .or_raise(py)?;
        }
        let engine = engine.try_with_config(self.config).or_raise(py)?;
        Ok(PyEnlist {
            engine,
            store: description,
        })
    }
}

/// The registration a person gives when accepting or joining: `user_ref`
/// and the keywords of core's `Registration` (`first_name`, `last_name`,
/// `phone`, `eula_version`, `two_factor_enrolled`, `verified_email`), read
/// through its serde form, so a field core adds needs no code here. An
/// unknown keyword or a value of the wrong type is a `TypeError`.
fn registration_in(
    method: &str,
    user_ref: String,
    keywords: Option<&Bound<'_, PyDict>>,
) -> PyResult<Registration> {
    let base = Registration {
        user_ref,
        ..Registration::default()
    };
    enlist::python_support::with_keywords(&format!("Enlist.{method}()"), &base, keywords)
}

/// PEM text (`str`) or bytes, at most `MAX_CA_BUNDLE_BYTES`, checked
/// before anything is copied.
fn pem_bytes(py: Python<'_>, pem: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    use pyo3::types::{PyBytes, PyString};
    let text;
    let bytes: &[u8] = if let Ok(b) = pem.cast::<PyBytes>() {
        b.as_bytes()
    } else if let Ok(s) = pem.cast::<PyString>() {
        text = s.to_cow()?;
        text.as_bytes()
    } else {
        return Err(invalid(py, "ca_pem", "expected PEM text (str) or bytes"));
    };
    if bytes.len() > enlist_postgres::MAX_CA_BUNDLE_BYTES {
        return Err(invalid(
            py,
            "ca_pem",
            format!(
                "is {} bytes long; at most {} are accepted",
                bytes.len(),
                enlist_postgres::MAX_CA_BUNDLE_BYTES
            ),
        ));
    }
    Ok(bytes.to_vec())
}

/// An optional enum argument (its wire name or member), its default when
/// `None`.
fn wire_or_default<T: enlist::wire::WireEnum + Default>(
    field: &str,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<T> {
    Ok(value
        .map(|v| wire_in(field, v))
        .transpose()?
        .unwrap_or_default())
}

/// A list of enum arguments (`statuses=`); none when `None`.
fn wire_list<T: enlist::wire::WireEnum>(
    field: &str,
    values: Option<Vec<Bound<'_, PyAny>>>,
) -> PyResult<Vec<T>> {
    let values = values.unwrap_or_default();
    values.iter().map(|v| wire_in(field, v)).collect()
}

impl PyEnlist {
    /// A time argument (an aware `datetime`), or the engine's time.
    fn at(&self, value: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<DateTime<Utc>> {
        value.map_or_else(|| Ok(self.engine.now()), |v| utc_in(v, field))
    }

    /// Runs `f` on the engine with the GIL released; an engine error
    /// becomes its Python exception.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Enlist) -> enlist::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| f(&self.engine)).or_raise(py)
    }
}

#[pymethods]
#[allow(clippy::too_many_arguments)]
impl PyEnlist {
    // -- constructors -------------------------------------------------------

    /// An engine over a fresh in-memory store (for tests and examples).
    ///
    /// `clock`: a `ManualClock` to control time; `product_name` and
    /// `accept_url_base`: used in invitation emails (the base: `https://`,
    /// or `http://` for a loopback host); `allowed_accept_url_bases`: the
    /// further bases an organization's policy may choose (a policy naming
    /// any other is refused); `retry`: how the outbox retries failed
    /// deliveries; `secret_key`: a pepper of at least 32 bytes kept outside
    /// the database, under which access codes are hashed (HMAC-SHA256).
    /// Bad settings or a short key raise `InvalidInputError` naming the
    /// field; nothing is silently ignored. Secrets come from the operating
    /// system's random source.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn in_memory(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let settled = Settled::new(py, "in_memory", None, options)?;
        settled.engine(py, Arc::new(enlist::MemoryStore::new()), "memory".into())
    }

    /// FOR TESTS ONLY: an in-memory engine whose tokens, access codes and
    /// ids come from `seed`, so a test can repeat them. Anyone who knows
    /// the seed can compute every secret it issues: never use it where
    /// real people get invitations. Otherwise as `in_memory`.
    #[staticmethod]
    #[pyo3(signature = (*, seed, **options))]
    fn in_memory_for_tests(
        py: Python<'_>,
        seed: u64,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settled = Settled::new(py, "in_memory_for_tests", Some(seed), options)?;
        settled.engine(
            py,
            Arc::new(enlist::MemoryStore::new()),
            format!("memory, seeded {seed} (for tests)"),
        )
    }

    /// An engine over a SQLite database file, created (with its schema)
    /// when missing. Several processes may open the same file. Takes the
    /// same options as `in_memory`.
    #[staticmethod]
    #[pyo3(signature = (path, **options))]
    fn sqlite(
        py: Python<'_>,
        path: std::path::PathBuf,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settled = Settled::new(py, "sqlite", None, options)?;
        let store = py
            .detach(|| enlist_sqlite::SqliteStore::open(&path))
            .map_err(enlist::Error::from)
            .or_raise(py)?;
        settled.engine(py, Arc::new(store), format!("sqlite:{}", path.display()))
    }

    /// An engine over PostgreSQL (`url`: a `postgres://` URL or libpq
    /// `key=value` string), with migrations applied on connect.
    /// `schema` puts the tables in that schema (created when missing): one
    /// database can hold many independent stores.
    ///
    /// TLS follows the URL's `sslmode` as libpq means it (`disable`,
    /// `prefer` (the default), `require`, `verify-ca`, `verify-full`;
    /// `allow` is refused). `ca_file` (a PEM file) or `ca_pem` (PEM text
    /// or bytes) names the certificate authorities to check the server
    /// against, as the URL's `sslrootcert` does (`sslrootcert=system`: the
    /// system's roots); given without `sslmode`, it means `verify-full`.
    /// Without a CA, `prefer` and `require` encrypt but check no
    /// certificate. Takes the same options as `in_memory`.
    #[staticmethod]
    #[pyo3(signature = (url, *, schema = None, ca_file = None, ca_pem = None, **options))]
    fn postgres(
        py: Python<'_>,
        url: String,
        schema: Option<String>,
        ca_file: Option<std::path::PathBuf>,
        ca_pem: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut connect = enlist_postgres::PostgresOptions::default();
        connect.schema = schema.clone();
        connect.ca = match (ca_file, ca_pem) {
            (Some(_), Some(_)) => {
                return Err(invalid(py, "ca_pem", "give ca_file or ca_pem, not both"));
            }
            (Some(path), None) => Some(enlist_postgres::CaCertificates::File(path)),
            (None, Some(pem)) => Some(enlist_postgres::CaCertificates::Pem(pem_bytes(py, pem)?)),
            (None, None) => None,
        };
        let settled = Settled::new(py, "postgres", None, options)?;
        let store = py
            .detach(|| enlist_postgres::PostgresStore::connect_with_options(&url, connect))
            .map_err(enlist::Error::from)
            .or_raise(py)?;
        let description = match &schema {
            Some(s) => format!("postgres (schema {s})"),
            None => "postgres".to_owned(),
        };
        settled.engine(py, Arc::new(store), description)
    }

    fn __repr__(&self) -> String {
        format!("Enlist(store='{}')", self.store)
    }

    /// The engine's current time.
    fn now(&self) -> DateTime<Utc> {
        self.engine.now()
    }

    // -- organizations, policy, roles, audit --------------------------------

    /// Creates an organization and its first member, an active owner.
    /// Returns `(organization, owner)`.
    /// The slug is derived from the name unless given (a given slug that
    /// is taken raises `ConflictError`).
    #[pyo3(signature = (name, *, owner_user_ref, owner_email, owner_first_name = None, owner_last_name = None, policy = None, slug = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_organization(
        &self,
        py: Python<'_>,
        name: String,
        owner_user_ref: String,
        owner_email: String,
        owner_first_name: Option<String>,
        owner_last_name: Option<String>,
        policy: Option<&Bound<'_, enlist::Policy>>,
        slug: Option<String>,
    ) -> PyResult<(enlist::Organization, enlist::Member)> {
        let mut new = enlist::NewOrganization::new(name, owner_user_ref, owner_email);
        new.owner_first_name = owner_first_name;
        new.owner_last_name = owner_last_name;
        new.slug = slug;
        if let Some(p) = policy {
            new.policy = p.get().clone();
        }
        let created = py
            .detach(|| self.engine.create_organization(new))
            .or_raise(py)?;
        Ok((created.organization, created.owner))
    }

    /// Reads an organization.
    fn organization(&self, py: Python<'_>, org: OrgId) -> PyResult<enlist::Organization> {
        self.run(py, |e| e.organization(&org))
    }

    /// Renames an organization. Needs `manage_policy`.
    #[pyo3(signature = (org, *, actor, name))]
    fn rename_organization(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        name: String,
    ) -> PyResult<enlist::Organization> {
        self.run(py, |e| e.rename_organization(&org, &actor.0, &name))
    }

    /// Replaces an organization's policy. Needs `manage_policy`.
    #[pyo3(signature = (org, *, actor, policy))]
    fn update_policy(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        policy: &Bound<'_, enlist::Policy>,
    ) -> PyResult<enlist::Organization> {
        let policy = policy.get().clone();
        self.run(py, |e| e.update_policy(&org, &actor.0, policy))
    }

    /// Every role of the organization, built-in first.
    fn roles(&self, py: Python<'_>, org: OrgId) -> PyResult<Vec<enlist::Role>> {
        self.run(py, |e| e.roles(&org))
    }

    /// Defines (or redefines) a custom role. Needs `manage_roles` and every
    /// permission the role holds.
    #[pyo3(signature = (org, *, actor, name, permissions))]
    fn define_role(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        name: String,
        permissions: &Bound<'_, PyAny>,
    ) -> PyResult<enlist::Role> {
        if permissions.is_instance_of::<pyo3::types::PyString>() {
            return Err(invalid(
                py,
                "permissions",
                "expected a collection of permissions, not one string",
            ));
        }
        let mut set = enlist::PermissionSet::new();
        for p in permissions.try_iter()? {
            set.insert(wire_in("permissions", &p?)?);
        }
        self.run(py, |e| e.define_role(&org, &actor.0, &name, set))
    }

    /// Deletes a custom role that no active member holds.
    #[pyo3(signature = (org, *, actor, name))]
    fn delete_role(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        name: String,
    ) -> PyResult<()> {
        self.run(py, |e| e.delete_role(&org, &actor.0, &name))
    }

    /// The audit trail after event number `after` (0: from the start), at
    /// most `limit` events. Needs `view_audit`.
    #[pyo3(signature = (org, *, actor, after = 0, limit = 100))]
    fn events(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        after: u64,
        limit: u32,
    ) -> PyResult<Vec<PyEvent>> {
        self.run(py, |e| e.events(&org, &actor.0, after, limit))
            .map(|e| wrap(&e))
    }

    // -- organizations across the store (issue 14, orgs) -------------------

    /// The organizations an account belongs to (better-auth
    /// `listOrganizations`), a page at a time. `user_ref` must come from
    /// the host's verified session, never from the request.
    #[pyo3(signature = (user_ref, *, after = None, limit = 50))]
    fn organizations_of(
        &self,
        py: Python<'_>,
        user_ref: String,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyAccountMembershipPage> {
        self.run(py, |e| {
            e.organizations_of(&user_ref, after.as_deref(), limit)
        })
        .map(Into::into)
    }

    /// Every organization not deleted, by slug, optionally those whose
    /// slug or name starts with `prefix` (Clerk `getOrganizationList`).
    /// Host-level: no actor is checked, so guard it in the host.
    #[pyo3(signature = (*, prefix = None, after = None, limit = 50))]
    fn list_organizations(
        &self,
        py: Python<'_>,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyOrganizationPage> {
        let mut query = enlist::OrganizationQuery::new().with_limit(limit);
        query.prefix = prefix;
        query.after = after;
        self.run(py, |e| e.list_organizations(&query))
            .map(Into::into)
    }

    /// The organization with this slug (not deleted).
    fn organization_by_slug(&self, py: Python<'_>, slug: String) -> PyResult<enlist::Organization> {
        self.run(py, |e| e.organization_by_slug(&slug))
    }

    /// Changes an organization's slug. Needs `manage_policy`; a taken slug
    /// raises `ConflictError`.
    #[pyo3(signature = (org, *, actor, slug))]
    fn set_organization_slug(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        slug: String,
    ) -> PyResult<enlist::Organization> {
        self.run(py, |e| e.set_organization_slug(&org, &actor.0, &slug))
    }

    /// Deletes an organization (better-auth `deleteOrganization`). Needs
    /// `own_organization`; `confirm` is the organization's slug, typed by
    /// the owner. Its invitations die at once; `mode` keeps members and
    /// history (`"keep"`) or removes every row of it (`"purge"`).
    #[pyo3(signature = (org, *, actor, confirm, mode))]
    fn delete_organization(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        confirm: String,
        mode: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let mode: enlist::DeleteMode = wire_in("mode", mode)?;
        self.run(py, |e| {
            e.delete_organization(&org, &actor.0, &confirm, mode)
        })
    }

    /// The actor leaves the organization (better-auth `leaveOrganization`);
    /// the last active owner cannot.
    #[pyo3(signature = (org, *, actor))]
    fn leave_organization(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<enlist::Member> {
        self.run(py, |e| e.leave_organization(&org, &actor.0))
    }

    /// Sets the host-defined permissions of a custom role (better-auth
    /// access control statements). Needs `manage_roles` and every custom
    /// permission added or taken away.
    #[pyo3(signature = (org, *, actor, role, custom_permissions))]
    fn set_role_custom_permissions(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        role: String,
        custom_permissions: &Bound<'_, PyAny>,
    ) -> PyResult<enlist::Role> {
        if custom_permissions.is_instance_of::<pyo3::types::PyString>() {
            return Err(invalid(
                py,
                "custom_permissions",
                "expected a collection of permission names, not one string",
            ));
        }
        let mut names = Vec::new();
        for p in custom_permissions.try_iter()? {
            if names.len() > enlist::MAX_CUSTOM_PERMISSIONS {
                break; // the engine refuses the count
            }
            names.push(p?.extract::<String>()?);
        }
        self.run(py, |e| {
            e.set_role_custom_permissions(&org, &actor.0, &role, names.clone())
        })
    }

    /// Whether `actor` holds the permission `name` (a built-in one by its
    /// wire name, or a host-defined one).
    #[pyo3(signature = (org, *, actor, name))]
    fn has_permission(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        name: String,
    ) -> PyResult<bool> {
        self.run(py, |e| e.has_permission(&org, &actor.0, &name))
    }

    /// `has_permission` as a guard: raises `PermissionDeniedError`
    /// (`permission_denied`, or `custom_permission_denied` for a
    /// host-defined one) when the actor lacks it.
    #[pyo3(signature = (org, *, actor, name))]
    fn authorize(&self, py: Python<'_>, org: OrgId, actor: ActorRef, name: String) -> PyResult<()> {
        self.run(py, |e| e.authorize(&org, &actor.0, &name))
    }

    // -- groups -------------------------------------------------------------

    /// Creates a group. Needs `manage_groups`.
    #[pyo3(signature = (org, *, actor, name, description = String::new(), is_default = false))]
    fn create_group(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        name: String,
        description: String,
        is_default: bool,
    ) -> PyResult<enlist::Group> {
        let new = enlist::NewGroup {
            name,
            description,
            is_default,
        };
        self.run(py, |e| e.create_group(&org, &actor.0, new))
    }

    /// Renames, describes or (un)defaults a group; arguments left `None`
    /// stay as they are. Needs `manage_groups`.
    #[pyo3(signature = (org, group, *, actor, name = None, description = None, is_default = None))]
    fn update_group(
        &self,
        py: Python<'_>,
        org: OrgId,
        group: GroupId,
        actor: ActorRef,
        name: Option<String>,
        description: Option<String>,
        is_default: Option<bool>,
    ) -> PyResult<enlist::Group> {
        let update = enlist::GroupUpdate {
            name,
            description,
            is_default,
        };
        self.run(py, |e| e.update_group(&org, &actor.0, &group, update))
    }

    /// Deletes a group (its members stay in the organization); returns how
    /// many members it had.
    #[pyo3(signature = (org, group, *, actor))]
    fn delete_group(
        &self,
        py: Python<'_>,
        org: OrgId,
        group: GroupId,
        actor: ActorRef,
    ) -> PyResult<u64> {
        self.run(py, |e| e.delete_group(&org, &actor.0, &group))
    }

    /// A group.
    #[pyo3(signature = (org, group, *, actor))]
    fn group(
        &self,
        py: Python<'_>,
        org: OrgId,
        group: GroupId,
        actor: ActorRef,
    ) -> PyResult<enlist::Group> {
        self.run(py, |e| e.group(&org, &actor.0, &group))
    }

    /// Lists groups, searched by name and sorted (`GroupSort`). Members see
    /// every group; guests only their own.
    #[pyo3(signature = (org, *, actor, search = None, sort = None))]
    fn list_groups(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        search: Option<String>,
        sort: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<enlist::Group>> {
        let query = enlist::GroupQuery {
            search,
            sort: wire_or_default("sort", sort)?,
        };
        self.run(py, |e| e.list_groups(&org, &actor.0, &query))
    }

    /// Adds an existing member to a group (as a plain member unless `role`
    /// says otherwise).
    #[pyo3(signature = (org, group, member, *, actor, role = None))]
    fn add_group_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        group: GroupId,
        member: MemberId,
        actor: ActorRef,
        role: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let role = role.map(|r| wire_in("role", r)).transpose()?;
        self.run(py, |e| {
            e.add_group_member(&org, &actor.0, &group, &member, role)
        })
    }

    /// Changes a member's role in a group.
    #[pyo3(signature = (org, group, member, *, actor, role))]
    fn set_group_role(
        &self,
        py: Python<'_>,
        org: OrgId,
        group: GroupId,
        member: MemberId,
        actor: ActorRef,
        role: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let role = wire_in("role", role)?;
        self.run(py, |e| {
            e.set_group_role(&org, &actor.0, &group, &member, role)
        })
    }

    /// Takes a member out of a group.
    #[pyo3(signature = (org, group, member, *, actor))]
    fn remove_group_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        group: GroupId,
        member: MemberId,
        actor: ActorRef,
    ) -> PyResult<()> {
        self.run(py, |e| {
            e.remove_group_member(&org, &actor.0, &group, &member)
        })
    }

    // -- invitations --------------------------------------------------------

    /// Invites a batch. `recipients` is a paste (one string: addresses
    /// separated by commas, semicolons, spaces or lines) or a list of
    /// addresses and `RecipientInput`s. `form_field=True` also holds a
    /// pasted string to the policy's form-field length. Each recipient is
    /// issued an invitation (its secret returned once, its email queued) or
    /// rejected with a reason; rejections do not fail the batch.
    /// `send=False` saves the invitations as staged ("Save User").
    /// `locale` (a BCP 47 tag such as "fr-CA") picks the email template;
    /// default: the organization's default locale.
    /// `active=False` saves the people with "Active" unchecked (seed 004):
    /// staged and inactive until activated (`update_staged_invitation(...,
    /// active=True)`) and sent; it needs `send=False`.
    /// `lifetime` (a `timedelta`, within the policy's bounds) is the
    /// invitations' own lifetime, renewed by the same on a resend;
    /// `redirect_url` (under one of the engine's `allowed_redirect_urls`)
    /// is where the app sends the invitee after accepting;
    /// `public_metadata` (shown to the invitee) and `private_metadata`
    /// (never shown to the invitee) are dicts of JSON values, at most 4 KiB
    /// each, copied onto the member on accepting.
    #[pyo3(signature = (org, recipients, *, actor, role = None, kind = None, groups = None, license_type = None, message = None, send = true, form_field = false, locale = None, active = true, attributes = None, lifetime = None, redirect_url = None, public_metadata = None, private_metadata = None))]
    fn invite(
        &self,
        py: Python<'_>,
        org: OrgId,
        recipients: &Bound<'_, PyAny>,
        actor: ActorRef,
        role: Option<String>,
        kind: Option<&Bound<'_, PyAny>>,
        groups: Option<Grants>,
        license_type: Option<String>,
        message: Option<String>,
        send: bool,
        form_field: bool,
        locale: Option<String>,
        active: bool,
        attributes: Option<enlist::Attributes>,
        lifetime: Option<&Bound<'_, PyAny>>,
        redirect_url: Option<String>,
        public_metadata: Option<&Bound<'_, PyAny>>,
        private_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyInviteReport> {
        let mut req =
            enlist::InviteRequest::new(crate::inputs::recipients(recipients, form_field)?);
        req.role = role;
        req.kind = wire_or_default("kind", kind)?;
        req.groups = groups.map(|g| g.0).unwrap_or_default();
        req.license_type = license_type;
        req.message = message;
        req.send = send;
        req.locale = locale;
        req.active = active;
        req.attributes = attributes.unwrap_or_default();
        settings_in(
            &mut req,
            lifetime,
            redirect_url,
            public_metadata,
            private_metadata,
        )?;
        self.run(py, |e| e.invite(&org, &actor.0, req))
            .map(Into::into)
    }

    /// What `actor` may do in the organization: invite at all, which roles
    /// and groups (and group roles) for members and for guests, manage
    /// members, groups, roles, the policy and the link, see access codes
    /// again. Answered by the checks the commands make.
    #[pyo3(signature = (org, *, actor))]
    fn capabilities(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<enlist::Capabilities> {
        self.run(py, |e| e.capabilities(&org, &actor.0))
    }

    /// Edits a staged invitation before it is sent: its role, groups,
    /// first and last names, license type and "Active" (`None` leaves a
    /// field as it is). Any other status raises `ConflictError`.
    /// `lifetime` (a `timedelta`) and `locale` set the invitation's own
    /// lifetime and the language of its email.
    #[pyo3(signature = (org, invitation, *, actor, role = None, groups = None, first_name = None, last_name = None, license_type = None, active = None, lifetime = None, locale = None))]
    fn update_staged_invitation(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        actor: ActorRef,
        role: Option<String>,
        groups: Option<Grants>,
        first_name: Option<String>,
        last_name: Option<String>,
        license_type: Option<String>,
        active: Option<bool>,
        lifetime: Option<&Bound<'_, PyAny>>,
        locale: Option<String>,
    ) -> PyResult<enlist::Invitation> {
        let mut changes = enlist::StagedInvitationUpdate::new();
        changes.lifetime_secs = lifetime
            .map(|l| enlist::python_support::secs_in(l, "lifetime"))
            .transpose()?;
        changes.locale = locale;
        changes.role = role;
        changes.groups = groups.map(|g| g.0);
        changes.first_name = first_name;
        changes.last_name = last_name;
        changes.license_type = license_type;
        changes.active = active;
        self.run(py, |e| {
            e.update_staged_invitation(&org, &actor.0, &invitation, changes)
        })
    }

    /// An identifier invitation's access code, shown again ("See access
    /// code"), when the engine was given `sealing_keys`; without them the
    /// code was shown once and `ConflictError` (`access_code_not_kept`)
    /// says so. Each display is an audit event (without the code).
    #[pyo3(signature = (org, invitation, *, actor))]
    fn reveal_access_code(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        actor: ActorRef,
    ) -> PyResult<String> {
        self.run(py, |e| e.reveal_access_code(&org, &actor.0, &invitation))
            .map(|s| s.expose().to_owned())
    }

    /// Sends staged invitations ("Send invites" on selected rows); each is
    /// sent or reported failed on its own.
    #[pyo3(signature = (org, invitations, *, actor))]
    fn send_staged(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitations: Vec<InvitationId>,
        actor: ActorRef,
    ) -> PyResult<PySendReport> {
        self.run(py, |e| e.send_staged(&org, &actor.0, &invitations))
            .map(Into::into)
    }

    /// Sends a pending or expired invitation again with a new secret and
    /// expiry (the old secret stops working). The cooldown and cap apply.
    #[pyo3(signature = (org, invitation, *, actor))]
    fn resend(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        actor: ActorRef,
    ) -> PyResult<PyIssuedInvitation> {
        self.run(py, |e| e.resend(&org, &actor.0, &invitation))
            .map(Into::into)
    }

    /// Revokes an open invitation: its secret stops working at once.
    #[pyo3(signature = (org, invitation, *, actor))]
    fn revoke(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        actor: ActorRef,
    ) -> PyResult<enlist::Invitation> {
        self.run(py, |e| e.revoke(&org, &actor.0, &invitation))
    }

    /// An invitation, with its status as of now.
    #[pyo3(signature = (org, invitation, *, actor))]
    fn invitation(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        actor: ActorRef,
    ) -> PyResult<enlist::Invitation> {
        self.run(py, |e| e.invitation(&org, &actor.0, &invitation))
    }

    /// A page of invitations, newest first, filtered by status (as of now),
    /// recipient text and batch. Needs `view_members`.
    #[pyo3(signature = (org, *, actor, statuses = None, search = None, batch = None, after = None, limit = 50))]
    fn list_invitations(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        statuses: Option<Vec<Bound<'_, PyAny>>>,
        search: Option<String>,
        batch: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyInvitationPage> {
        let query = enlist::InvitationQuery {
            statuses: wire_list("statuses", statuses)?,
            search,
            batch: batch.map(Into::into),
            after,
            limit,
        };
        self.run(py, |e| e.list_invitations(&org, &actor.0, &query))
            .map(Into::into)
    }

    /// Persists the expiry of every pending invitation expired at `now`
    /// (default: the engine's time), one event each; returns how many.
    #[pyo3(signature = (now = None))]
    fn expire_due(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let now = self.at(now, "now")?;
        self.run(py, |e| e.expire_due(now))
    }

    /// Bulk invitations from an import file (CSV or XLSX `bytes`; a CSV may
    /// also be a `str`), in batches of the policy's `max_batch`, with a
    /// per-line report. The other arguments are what every row gets unless
    /// its own cells say otherwise.
    #[pyo3(signature = (org, data, *, actor, format, role = None, kind = None, groups = None, license_type = None, message = None, send = true, locale = None, lifetime = None))]
    fn import_invitations(
        &self,
        py: Python<'_>,
        org: OrgId,
        data: &Bound<'_, PyAny>,
        actor: ActorRef,
        format: &Bound<'_, PyAny>,
        role: Option<String>,
        kind: Option<&Bound<'_, PyAny>>,
        groups: Option<Grants>,
        license_type: Option<String>,
        message: Option<String>,
        send: bool,
        locale: Option<String>,
        lifetime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyImportReport> {
        // Refused before the bytes are copied out of Python: no policy
        // allows a file larger than the ceiling of `max_import_bytes`
        // (the engine then checks the organization's own limit).
        let mut ceiling = enlist::ImportLimits::default();
        ceiling.max_bytes = enlist::MAX_IMPORT_BYTES;
        ceiling
            .check_file_size(crate::email::file_len(data)?)
            .or_raise(py)?;
        let bytes = crate::email::file_bytes(data)?;
        let format: enlist::ImportFormat = wire_in("format", format)?;
        let mut defaults = enlist::ImportDefaults::default();
        defaults.role = role;
        defaults.kind = wire_or_default("kind", kind)?;
        defaults.groups = groups.map(|g| g.0).unwrap_or_default();
        defaults.license_type = license_type;
        defaults.message = message;
        defaults.send = send;
        defaults.locale = locale;
        defaults.lifetime_secs = lifetime
            .map(|l| enlist::python_support::secs_in(l, "lifetime"))
            .transpose()?;
        self.run(py, |e| {
            e.import_invitations(&org, &actor.0, &bytes, format, defaults)
        })
        .map(Into::into)
    }

    // -- the invitee's side -------------------------------------------------

    /// What the landing page shows for a token. Never consumes the
    /// invitation (mail scanners follow links).
    fn preview(&self, py: Python<'_>, token: String) -> PyResult<enlist::InvitationPreview> {
        self.run(py, |e| e.preview(&token))
    }

    /// Accepts an email invitation by its token (the whole accept URL works
    /// too). The registration must meet the policy; `verified_email`, when
    /// given, must be the invited address.
    #[pyo3(signature = (token, *, user_ref, **registration))]
    fn accept(
        &self,
        py: Python<'_>,
        token: String,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::Acceptance> {
        let reg = registration_in("accept", user_ref, registration)?;
        self.run(py, |e| e.accept(&token, reg))
    }

    /// Accepts an invitation by identifier with its access code. Each wrong
    /// code counts; at the policy's limit the invitation is locked.
    #[pyo3(signature = (org, *, identifier, code, user_ref, **registration))]
    fn accept_with_code(
        &self,
        py: Python<'_>,
        org: OrgId,
        identifier: String,
        code: String,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::Acceptance> {
        let reg = registration_in("accept_with_code", user_ref, registration)?;
        self.run(py, |e| e.accept_with_code(&org, &identifier, &code, reg))
    }

    /// Declines an invitation by its token.
    fn decline(&self, py: Python<'_>, token: String) -> PyResult<enlist::Invitation> {
        self.run(py, |e| e.decline(&token))
    }

    // -- the invitee's inbox (issue 14) -----------------------------------------

    /// The signed-in person's open invitations across every organization
    /// (better-auth `listUserInvitations`): pending, not expired, newest
    /// first; found by `verified_email` (invitations to it bound to no
    /// account) and by `user_ref` (invitations bound to that account).
    /// No item carries a secret.
    ///
    /// `verified_email` and `user_ref` must come from your own verified
    /// session after sign-in, never from request input.
    #[pyo3(signature = (*, verified_email = None, user_ref = None, after = None, limit = 50))]
    fn invitations_for(
        &self,
        py: Python<'_>,
        verified_email: Option<String>,
        user_ref: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<crate::types::PyInboxPage> {
        let identity = enlist::Identity::new(verified_email, user_ref);
        self.run(py, |e| {
            e.invitations_for(&identity, after.as_deref(), limit)
        })
        .map(Into::into)
    }

    /// Accepts an invitation from the signed-in person's inbox, without its
    /// token (better-auth `acceptInvitation(invitationId)`): the same rules
    /// as `accept`. It must be theirs: bound to `user_ref`, or (bound to no
    /// account) addressed to `verified_email`; anything else is
    /// `NotFoundError`. `user_ref` and `verified_email` must come from your
    /// own verified session.
    #[pyo3(signature = (org, invitation, *, user_ref, **registration))]
    fn accept_from_inbox(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::Acceptance> {
        let reg = registration_in("accept_from_inbox", user_ref, registration)?;
        self.run(py, |e| e.accept_from_inbox(&org, &invitation, reg))
    }

    /// Declines an invitation from the signed-in person's inbox, without
    /// its token; as for `accept_from_inbox`, it must be theirs.
    #[pyo3(signature = (org, invitation, *, verified_email = None, user_ref = None))]
    fn decline_from_inbox(
        &self,
        py: Python<'_>,
        org: OrgId,
        invitation: InvitationId,
        verified_email: Option<String>,
        user_ref: Option<String>,
    ) -> PyResult<enlist::Invitation> {
        let identity = enlist::Identity::new(verified_email, user_ref);
        self.run(py, |e| e.decline_from_inbox(&org, &invitation, &identity))
    }

    /// Adds an existing account as an active member directly, without an
    /// invitation (better-auth `addMember`, Clerk
    /// `createOrganizationMembership`). Needs `manage_members` and the right
    /// to grant the role and groups; seats, allowed domains and the
    /// policy's registration requirements apply. Audited as
    /// `EventKind.MEMBER_ADDED`.
    #[pyo3(signature = (org, *, actor, user_ref, email = None, identifier = None, first_name = None, last_name = None, phone = None, eula_version = None, two_factor_enrolled = false, role = None, kind = None, groups = None, license_type = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        user_ref: String,
        email: Option<String>,
        identifier: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        phone: Option<String>,
        eula_version: Option<String>,
        two_factor_enrolled: bool,
        role: Option<String>,
        kind: Option<&Bound<'_, PyAny>>,
        groups: Option<Grants>,
        license_type: Option<String>,
    ) -> PyResult<enlist::Member> {
        let mut req = enlist::NewMember::new(user_ref);
        req.email = email;
        req.identifier = identifier;
        req.first_name = first_name;
        req.last_name = last_name;
        req.phone = phone;
        req.eula_version = eula_version;
        req.two_factor_enrolled = two_factor_enrolled;
        req.role = role;
        req.kind = wire_or_default("kind", kind)?;
        req.groups = groups.map(|g| g.0).unwrap_or_default();
        req.license_type = license_type;
        self.run(py, |e| e.add_member(&org, &actor.0, req))
    }

    // -- the invitation link and self-registration ---------------------------

    /// Activates the invitation link with a new secret (any previous link
    /// stops working). Returns `(link, token)`: share the token (in your
    /// link URL); it is shown only now.
    #[pyo3(signature = (org, *, actor, role = None, kind = None, groups = None, license_type = None))]
    fn activate_invite_link<'py>(
        &self,
        py: Python<'py>,
        org: OrgId,
        actor: ActorRef,
        role: Option<String>,
        kind: Option<&Bound<'_, PyAny>>,
        groups: Option<Grants>,
        license_type: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = enlist::LinkSpec {
            role,
            kind: wire_or_default("kind", kind)?,
            groups: groups.map(|g| g.0).unwrap_or_default(),
            license_type,
        };
        let activated = py
            .detach(|| self.engine.activate_invite_link(&org, &actor.0, spec))
            .or_raise(py)?;
        // A named tuple whose repr hides the token (`enlist._links`).
        py.import("enlist._links")?
            .getattr("ActivatedLink")?
            .call1((activated.link, activated.url.expose().to_owned()))
    }

    /// Deactivates the invitation link: it stops working at once.
    #[pyo3(signature = (org, *, actor))]
    fn deactivate_invite_link(&self, py: Python<'_>, org: OrgId, actor: ActorRef) -> PyResult<()> {
        self.run(py, |e| e.deactivate_invite_link(&org, &actor.0))
    }

    /// The organization's link settings (never its secret), or `None`.
    #[pyo3(signature = (org, *, actor))]
    fn invite_link(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<Option<enlist::InviteLink>> {
        self.run(py, |e| e.invite_link(&org, &actor.0))
    }

    // -- named invitation links (ADR 0013) ------------------------------------

    /// Creates a named invitation link with its own terms (kind, role,
    /// groups, license type), expiry (`expires_in_secs`), use cap
    /// (`max_uses`) and email domains (`allowed_domains`, on top of the
    /// organization's). Returns `(link, token)`; with `link_keys` the
    /// token can be shown again (`link_url`), without it only now.
    #[pyo3(signature = (
        org, *, actor, name, kind = None, role = None, groups = None, license_type = None,
        expires_in_secs = None, max_uses = None, allowed_domains = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn create_link<'py>(
        &self,
        py: Python<'py>,
        org: OrgId,
        actor: ActorRef,
        name: String,
        kind: Option<&Bound<'_, PyAny>>,
        role: Option<String>,
        groups: Option<Grants>,
        license_type: Option<String>,
        expires_in_secs: Option<u64>,
        max_uses: Option<u64>,
        allowed_domains: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut new = enlist::NewLink::new(name);
        new.kind = wire_or_default("kind", kind)?;
        new.role = role;
        new.groups = groups.map(|g| g.0).unwrap_or_default();
        new.license_type = license_type;
        new.expires_in_secs = expires_in_secs;
        new.max_uses = max_uses;
        new.allowed_domains = allowed_domains.unwrap_or_default();
        let made = py
            .detach(|| self.engine.create_link(&org, &actor.0, new))
            .or_raise(py)?;
        activated_link(py, made)
    }

    /// A page of the organization's links (the default one too), oldest
    /// first, each with its uses and status. Needs `MANAGE_INVITE_LINK`.
    #[pyo3(signature = (org, *, actor, after = None, limit = 50))]
    fn links(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyLinkPage> {
        self.run(py, |e| e.links(&org, &actor.0, after.as_deref(), limit))
            .map(Into::into)
    }

    /// One link, with its uses and status. Needs `MANAGE_INVITE_LINK`.
    #[pyo3(signature = (org, *, actor, link_id))]
    fn link(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        link_id: String,
    ) -> PyResult<enlist::InviteLink> {
        let id = enlist::LinkId::from(link_id);
        self.run(py, |e| e.link(&org, &actor.0, &id))
    }

    /// A link's URL again, derived under the engine's `link_keys` (never
    /// stored). Raises `ConflictError` (`link_url_not_kept`) without a key
    /// or for a link made before it.
    #[pyo3(signature = (org, *, actor, link_id))]
    fn link_url(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        link_id: String,
    ) -> PyResult<String> {
        let id = enlist::LinkId::from(link_id);
        self.run(py, |e| e.link_url(&org, &actor.0, &id))
            .map(|url| url.expose().to_owned())
    }

    /// Gives one link a new secret: its old URL stops working, the other
    /// links' do not. Returns `(link, token)`.
    #[pyo3(signature = (org, *, actor, link_id))]
    fn regenerate_link<'py>(
        &self,
        py: Python<'py>,
        org: OrgId,
        actor: ActorRef,
        link_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = enlist::LinkId::from(link_id);
        let made = py
            .detach(|| self.engine.regenerate_link(&org, &actor.0, &id))
            .or_raise(py)?;
        activated_link(py, made)
    }

    /// Revokes one link for good; the others keep working. Returns it.
    #[pyo3(signature = (org, *, actor, link_id))]
    fn revoke_link(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        link_id: String,
    ) -> PyResult<enlist::InviteLink> {
        let id = enlist::LinkId::from(link_id);
        self.run(py, |e| e.revoke_link(&org, &actor.0, &id))
    }

    /// What the link's landing page shows.
    fn preview_link(&self, py: Python<'_>, token: String) -> PyResult<enlist::LinkPreview> {
        self.run(py, |e| e.preview_link(&token))
    }

    /// Joins by the invitation link, as `contact` (email or identifier).
    #[pyo3(signature = (token, *, contact, user_ref, **registration))]
    fn join_by_link(
        &self,
        py: Python<'_>,
        token: String,
        contact: String,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::Member> {
        let reg = registration_in("join_by_link", user_ref, registration)?;
        self.run(py, |e| e.join_by_link(&token, &contact, reg))
    }

    /// Registers without an invitation, where the policy allows it.
    #[pyo3(signature = (org, *, contact, user_ref, **registration))]
    fn self_register(
        &self,
        py: Python<'_>,
        org: OrgId,
        contact: String,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::Member> {
        let reg = registration_in("self_register", user_ref, registration)?;
        self.run(py, |e| e.self_register(&org, &contact, reg))
    }

    // -- members ------------------------------------------------------------

    /// A member. Members with `view_members` see everyone; anyone sees
    /// themselves.
    #[pyo3(signature = (org, member, *, actor))]
    fn member(
        &self,
        py: Python<'_>,
        org: OrgId,
        member: MemberId,
        actor: ActorRef,
    ) -> PyResult<enlist::Member> {
        self.run(py, |e| e.member(&org, &actor.0, &member))
    }

    /// A page of members: searched by email, filtered by role, statuses
    /// (default active and inactive) and group, sorted by email. Needs
    /// `view_members`.
    #[pyo3(signature = (org, *, actor, search = None, role = None, statuses = None, group = None, sort = None, after = None, limit = 50))]
    fn list_members(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        search: Option<String>,
        role: Option<String>,
        statuses: Option<Vec<Bound<'_, PyAny>>>,
        group: Option<GroupId>,
        sort: Option<&Bound<'_, PyAny>>,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyMemberPage> {
        let query = enlist::MemberQuery {
            search,
            role,
            statuses: wire_list("statuses", statuses)?,
            group,
            sort: wire_or_default("sort", sort)?,
            after,
            limit,
        };
        self.run(py, |e| e.list_members(&org, &actor.0, &query))
            .map(Into::into)
    }

    /// A page of the people view: members and staged, pending and expired
    /// invitations in one list, with their labels now. Filters: `labels`
    /// (default every label but removed), `role`, `group`, `kind`,
    /// `license_type`, and `search` (a case-folded prefix of a first name,
    /// last name, full name or email). Sorted by `sort` (default name),
    /// `descending` to reverse. Needs `view_members`.
    #[pyo3(signature = (org, *, actor, labels = None, role = None, group = None, kind = None, license_type = None, search = None, sort = None, descending = false, after = None, limit = 50))]
    #[allow(clippy::too_many_arguments)]
    fn people(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        labels: Option<Vec<Bound<'_, PyAny>>>,
        role: Option<String>,
        group: Option<GroupId>,
        kind: Option<&Bound<'_, PyAny>>,
        license_type: Option<String>,
        search: Option<String>,
        sort: Option<&Bound<'_, PyAny>>,
        descending: bool,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyPersonPage> {
        let query = enlist::PeopleQuery {
            labels: wire_list("labels", labels)?,
            role,
            group,
            kind: kind
                .map(|k| enlist::python_support::wire_in("kind", k))
                .transpose()?,
            license_type,
            search,
            sort: wire_or_default("sort", sort)?,
            descending,
            after,
            limit,
        };
        self.run(py, |e| e.people(&org, &actor.0, &query))
            .map(Into::into)
    }

    /// Edits a member; arguments left `None` stay as they are (`""` clears
    /// a name or phone; `groups` replaces the whole set). The email never
    /// changes.
    /// `public_metadata` and `private_metadata` (dicts, replaced whole;
    /// `{}` clears) need the manage-members permission.
    #[pyo3(signature = (org, member, *, actor, first_name = None, last_name = None, phone = None, role = None, groups = None, license_type = None, attributes = None, public_metadata = None, private_metadata = None))]
    fn update_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        member: MemberId,
        actor: ActorRef,
        first_name: Option<String>,
        last_name: Option<String>,
        phone: Option<String>,
        role: Option<String>,
        groups: Option<Grants>,
        license_type: Option<String>,
        attributes: Option<enlist::Attributes>,
        public_metadata: Option<&Bound<'_, PyAny>>,
        private_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<enlist::Member> {
        let mut update = enlist::MemberUpdate {
            first_name,
            last_name,
            phone,
            role,
            groups: groups.map(|g| g.0),
            license_type,
            attributes,
            ..enlist::MemberUpdate::default()
        };
        update.public_metadata = public_metadata
            .map(|m| enlist::python_support::metadata_in(m, "public_metadata"))
            .transpose()?;
        update.private_metadata = private_metadata
            .map(|m| enlist::python_support::metadata_in(m, "private_metadata"))
            .transpose()?;
        self.run(py, |e| e.update_member(&org, &actor.0, &member, update))
    }

    /// Deactivates a member (they keep their data but hold no seat).
    #[pyo3(signature = (org, member, *, actor))]
    fn deactivate_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        member: MemberId,
        actor: ActorRef,
    ) -> PyResult<enlist::Member> {
        self.run(py, |e| e.deactivate_member(&org, &actor.0, &member))
    }

    /// Reactivates an inactive member, if a seat is free.
    #[pyo3(signature = (org, member, *, actor))]
    fn reactivate_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        member: MemberId,
        actor: ActorRef,
    ) -> PyResult<enlist::Member> {
        self.run(py, |e| e.reactivate_member(&org, &actor.0, &member))
    }

    /// Removes a member: a tombstone stays, the email is free to be invited
    /// again. The last owner cannot be removed.
    #[pyo3(signature = (org, member, *, actor))]
    fn remove_member(
        &self,
        py: Python<'_>,
        org: OrgId,
        member: MemberId,
        actor: ActorRef,
    ) -> PyResult<enlist::Member> {
        self.run(py, |e| e.remove_member(&org, &actor.0, &member))
    }

    /// Records when a member was last active (default: now). Appends no
    /// audit event; only ever moves the time forward.
    #[pyo3(signature = (org, member, *, at = None))]
    fn record_activity(
        &self,
        py: Python<'_>,
        org: OrgId,
        member: MemberId,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let at = self.at(at, "at")?;
        self.run(py, |e| e.record_activity(&org, &member, at))
    }

    /// Seats in use and pending per license type.
    #[pyo3(signature = (org, *, actor))]
    fn license_usage(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<Vec<enlist::LicenseUsage>> {
        self.run(py, |e| e.license_usage(&org, &actor.0))
    }

    // -- outbox -------------------------------------------------------------

    /// Sends up to `limit` due invitation emails through `mailer`: a
    /// callable taking an `OutgoingEmail`, or an object with a
    /// `send(email)` method. Returning normally is a delivery; an exception
    /// is a failed one, retried with backoff (given up at once when it is
    /// an `enlist.MailError` with `permanent=True`). A message whose
    /// delivery was recorded is never sent again.
    #[pyo3(signature = (mailer, *, limit = 100))]
    fn deliver_pending(
        &self,
        py: Python<'_>,
        mailer: &Bound<'_, PyAny>,
        limit: usize,
    ) -> PyResult<enlist::DeliveryReport> {
        let mailer = PyMailer::new(mailer)?;
        let report = py.detach(|| self.engine.deliver_pending(&mailer, limit));
        if let Some(interruption) = mailer.take_interruption() {
            return Err(interruption);
        }
        report.or_raise(py)
    }

    /// Takes up to `limit` due messages (of one organization, or all) for
    /// delivery by your own queue; report each with `mark_sent` or
    /// `mark_failed`.
    #[pyo3(signature = (*, org = None, limit = 100))]
    fn claim_due(
        &self,
        py: Python<'_>,
        org: Option<OrgId>,
        limit: usize,
    ) -> PyResult<Vec<enlist::OutboxMessage>> {
        self.run(py, |e| e.claim_due(org.as_ref(), limit))
    }

    /// Records a delivery; `False` if the message was no longer queued.
    fn mark_sent(&self, py: Python<'_>, message_id: String) -> PyResult<bool> {
        self.run(py, |e| e.mark_sent(&message_id.into()))
    }

    /// Records a failed delivery: retried after a backoff, or given up when
    /// `permanent` or out of attempts. Returns the message's new status, or
    /// `None` if it was no longer queued.
    #[pyo3(signature = (message_id, *, error, permanent = false))]
    fn mark_failed<'py>(
        &self,
        py: Python<'py>,
        message_id: String,
        error: String,
        permanent: bool,
    ) -> PyResult<Option<enlist::OutboxStatus>> {
        self.run(py, |e| e.mark_failed(&message_id.into(), &error, permanent))
    }

    /// A message of the outbox, to show its delivery state, without its
    /// secret (no accept link, no body holding it). For host jobs: no actor
    /// is checked. For a person, use `outbox_message_in`.
    fn outbox_message(
        &self,
        py: Python<'_>,
        message_id: String,
    ) -> PyResult<enlist::OutboxMessage> {
        self.run(py, |e| e.outbox_message(&message_id.into()))
    }

    /// A message of `org`'s outbox, for a person: needs `MANAGE_OUTBOX` in
    /// `org` (`PermissionDeniedError` otherwise); a message of another
    /// organization is `NotFoundError`. Comes without its secret (no
    /// accept link, no body holding it).
    #[pyo3(signature = (org, *, actor, message_id))]
    fn outbox_message_in(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        message_id: String,
    ) -> PyResult<enlist::OutboxMessage> {
        self.run(py, |e| {
            e.outbox_message_in(&org, &actor.0, &message_id.into())
        })
    }

    // -- outbox worker ------------------------------------------------------

    /// One pass of the outbox worker: persists due expiries, sends up to
    /// `limit` due messages through `mailer` (as `deliver_pending`), and
    /// returns what it did and `next_due`, the time the earliest queued
    /// message becomes due: sleep until then (or call again at once when it
    /// is already past).
    #[pyo3(signature = (mailer, *, limit = 100))]
    fn work_outbox(
        &self,
        py: Python<'_>,
        mailer: &Bound<'_, PyAny>,
        limit: usize,
    ) -> PyResult<enlist::WorkerReport> {
        let mailer = PyMailer::new(mailer)?;
        let report = py.detach(|| self.engine.work_outbox(&mailer, limit));
        if let Some(interruption) = mailer.take_interruption() {
            return Err(interruption);
        }
        report.or_raise(py)
    }

    /// Runs `work_outbox` in a loop on this thread until `stop` (a
    /// `threading.Event`, or any object with `is_set()` and
    /// `wait(timeout)`) is set: after each pass it waits on `stop` until
    /// the next message is due, at most `max_idle` seconds, so setting it
    /// ends the loop at once. A temporary store error is tried again after
    /// `max_idle`; any other error, and an exception the mailer lets
    /// through as an interruption (`KeyboardInterrupt`), ends the loop.
    /// Returns the totals of every pass.
    #[pyo3(signature = (mailer, stop, *, limit = 100, max_idle = 60.0))]
    fn run_outbox(
        &self,
        py: Python<'_>,
        mailer: &Bound<'_, PyAny>,
        stop: &Bound<'_, PyAny>,
        limit: usize,
        max_idle: f64,
    ) -> PyResult<enlist::WorkerReport> {
        if !(max_idle.is_finite() && max_idle > 0.0 && max_idle <= 86_400.0) {
            return Err(invalid(
                py,
                "max_idle",
                format!("is {max_idle}; give a number of seconds above 0, at most one day"),
            ));
        }
        let options =
            enlist::WorkerOptions::new(limit, std::time::Duration::from_secs_f64(max_idle));
        let (is_set, wait) = (stop.getattr("is_set")?, stop.getattr("wait")?);
        let mailer = PyMailer::new(mailer)?;
        let mut totals = enlist::WorkerReport::default();
        while !is_set.call0()?.is_truthy()? {
            let pass = py.detach(|| self.engine.run_outbox_pass(&mailer, &options, &mut totals));
            if let Some(interruption) = mailer.take_interruption() {
                return Err(interruption);
            }
            let sleep = pass.or_raise(py)?;
            py.check_signals()?;
            // `Event.wait` releases the GIL while it waits.
            if !sleep.is_zero() && wait.call1((sleep.as_secs_f64(),))?.is_truthy()? {
                break;
            }
        }
        Ok(totals)
    }

    /// A page of `org`'s dead letters (messages failed for good), newest
    /// first: who each was for, why it failed (`reason`, scrubbed), how
    /// often it was tried; never the accept link. Needs `MANAGE_OUTBOX`.
    #[pyo3(signature = (org, *, actor, after = None, limit = 50))]
    fn dead_letters(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<PyDeadLetterPage> {
        self.run(py, |e| {
            e.dead_letters(&org, &actor.0, after.as_deref(), limit)
        })
        .map(Into::into)
    }

    /// Retries a dead letter: a resend of its invitation (a fresh link, the
    /// old one stops working; the resend rules apply), the dead letter
    /// superseded. Needs `MANAGE_OUTBOX` and the right to resend. Returns
    /// the new message's id.
    #[pyo3(signature = (org, *, actor, message_id))]
    fn retry_dead_letter(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        message_id: String,
    ) -> PyResult<String> {
        self.run(py, |e| {
            e.retry_dead_letter(&org, &actor.0, &message_id.into())
        })
        .map(|id| id.to_string())
    }

    // -- email templates ----------------------------------------------------

    /// Saves `org`'s invitation email template for `locale` (a BCP 47 tag
    /// such as "fr" or "fr-CA"): a subject, a text body and an optional
    /// HTML body, minijinja templates checked now (syntax, known variables
    /// only, the accept link in each body, size and work bounds):
    /// `InvalidInputError` names the part. Needs `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor, locale, subject, text_body, html_body = None))]
    fn set_email_template(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        locale: String,
        subject: String,
        text_body: String,
        html_body: Option<String>,
    ) -> PyResult<enlist::EmailTemplate> {
        let mut t = enlist::NewEmailTemplate::new(locale, subject, text_body);
        t.html_body = html_body;
        self.run(py, |e| e.set_email_template(&org, &actor.0, t))
    }

    /// `org`'s template for exactly this locale, or `None`. Needs
    /// `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor, locale))]
    fn email_template(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        locale: String,
    ) -> PyResult<Option<enlist::EmailTemplate>> {
        self.run(py, |e| e.email_template(&org, &actor.0, &locale))
    }

    /// Every template `org` saved, by locale. Needs `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor))]
    fn email_templates(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<Vec<enlist::EmailTemplate>> {
        self.run(py, |e| e.email_templates(&org, &actor.0))
    }

    /// Deletes `org`'s template for `locale`; `True` if there was one.
    /// Needs `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor, locale))]
    fn delete_email_template(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        locale: String,
    ) -> PyResult<bool> {
        self.run(py, |e| e.delete_email_template(&org, &actor.0, &locale))
    }

    /// `org`'s email settings: the locale of its invitations and its
    /// default personal message. Needs `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor))]
    fn email_settings(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<enlist::EmailSettings> {
        self.run(py, |e| e.email_settings(&org, &actor.0))
    }

    /// Sets `org`'s default locale and default personal message (used when
    /// an inviter writes none). Needs `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor, default_locale, default_message = None))]
    fn set_email_settings(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        default_locale: String,
        default_message: Option<String>,
    ) -> PyResult<enlist::EmailSettings> {
        self.run(py, |e| {
            e.set_email_settings(&org, &actor.0, &default_locale, default_message.as_deref())
        })
    }

    /// Renders an invitation email without sending it: the proposed
    /// template (when `subject` and `text_body` are given; checked as if
    /// saved) or the stored one for `locale`, with `invitation`'s data or
    /// sample data. The link is a placeholder, never a live token. Needs
    /// `MANAGE_POLICY`.
    #[pyo3(signature = (org, *, actor, locale = None, subject = None, text_body = None, html_body = None, invitation = None))]
    fn preview_email(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        locale: Option<String>,
        subject: Option<String>,
        text_body: Option<String>,
        html_body: Option<String>,
        invitation: Option<String>,
    ) -> PyResult<enlist::EmailPreview> {
        let mut request = enlist::EmailPreviewRequest::default();
        match (subject, text_body) {
            (Some(subject), Some(text_body)) => {
                let mut t = enlist::NewEmailTemplate::new(
                    locale.clone().unwrap_or_else(|| "en".to_owned()),
                    subject,
                    text_body,
                );
                t.html_body = html_body;
                request = request.template(t);
            }
            (None, None) if html_body.is_none() => {}
            _ => {
                return Err(invalid(
                    py,
                    "template",
                    "a proposed template needs both subject and text_body",
                ));
            }
        }
        if let Some(l) = locale {
            request = request.locale(l);
        }
        if let Some(i) = invitation {
            request = request.invitation(InvitationId::from(i));
        }
        self.run(py, |e| e.preview_email(&org, &actor.0, request))
    }

    // -- the directory assistant (seed 000) ---------------------------------

    /// Starts the directory assistant over `source` (a `MemoryDirectory`, a
    /// `CsvDirectory`, or any object with `companies()` and
    /// `employees(company_id)`). The actor must be allowed to invite and to
    /// view members; the source is read only then. With one company, it is
    /// chosen and loaded at once.
    #[pyo3(signature = (org, source, *, actor))]
    fn directory_start(
        &self,
        py: Python<'_>,
        org: OrgId,
        source: crate::directory::Source,
        actor: ActorRef,
    ) -> PyResult<crate::directory::PyDirectoryAssistant> {
        crate::directory::start(py, &self.engine, org, actor.0, source)
    }

    /// Chooses (or loads again) a company: its active employees who are
    /// neither members nor invited are listed (one store query).
    #[pyo3(signature = (org, assistant, company_id, source, *, actor))]
    fn directory_choose_company(
        &self,
        py: Python<'_>,
        org: OrgId,
        mut assistant: PyRefMut<'_, crate::directory::PyDirectoryAssistant>,
        company_id: String,
        source: crate::directory::Source,
        actor: ActorRef,
    ) -> PyResult<()> {
        crate::directory::choose_company(
            py,
            &self.engine,
            org,
            actor.0,
            source,
            &mut assistant,
            company_id,
        )
    }

    /// The review: "Invitations to send" and "Invitation errors". Writes
    /// nothing.
    #[pyo3(signature = (org, assistant, *, actor))]
    fn directory_review(
        &self,
        py: Python<'_>,
        org: OrgId,
        assistant: PyRef<'_, crate::directory::PyDirectoryAssistant>,
        actor: ActorRef,
    ) -> PyResult<crate::directory::PyDirectoryReview> {
        crate::directory::review(py, &self.engine, org, actor.0, &assistant)
    }

    /// Sends the invitations of the selection in one batch (the normal
    /// invite path) and returns the batch with its Invitations and Errors
    /// reports.
    #[pyo3(signature = (org, assistant, *, actor, message = None))]
    fn directory_send(
        &self,
        py: Python<'_>,
        org: OrgId,
        assistant: PyRef<'_, crate::directory::PyDirectoryAssistant>,
        actor: ActorRef,
        message: Option<String>,
    ) -> PyResult<crate::directory::PyDirectorySendReport> {
        crate::directory::send(py, &self.engine, org, actor.0, &assistant, message)
    }

    // -- batch reports --------------------------------------------------------

    /// The report kept for a batch: an invite's `batch_id`, a send's
    /// `SendReport.batch_id` or an import's `ImportReport.report_id`. Needs
    /// `view_members`, or to be the actor who ran it; another
    /// organization's batch is `NotFoundError`.
    #[pyo3(signature = (org, batch_id, *, actor))]
    fn batch_report(
        &self,
        py: Python<'_>,
        org: OrgId,
        batch_id: String,
        actor: ActorRef,
    ) -> PyResult<PyBatchReport> {
        let batch = enlist::BatchId::from(batch_id);
        self.run(py, |e| e.batch_report(&org, &actor.0, &batch))
            .map(Into::into)
    }

    /// Deletes the organization's batch reports made before `before` (an
    /// aware `datetime`); returns how many. Needs `manage_policy`.
    #[pyo3(signature = (org, *, actor, before))]
    fn prune_batch_reports(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        before: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let before = utc_in(before, "before")?;
        self.run(py, |e| e.prune_batch_reports(&org, &actor.0, before))
    }

    /// The import template as XLSX `bytes`, with the organization's roles,
    /// kinds and groups as drop-down lists. Needs `invite_members` or
    /// `invite_guests`.
    #[pyo3(signature = (org, *, actor))]
    fn import_template_xlsx<'py>(
        &self,
        py: Python<'py>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let bytes = self.run(py, |e| e.import_template_xlsx(&org, &actor.0))?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }

    // -- bulk actions -------------------------------------------------------

    /// The first step of a bulk action over checked rows: checks that the
    /// actor may run it and, for a destructive action (remove, deactivate,
    /// change_role, revoke), returns the number the actor types back to
    /// `bulk_action`, good for 9 to 10 minutes for this selection, action,
    /// role and actor only.
    #[pyo3(signature = (org, action, *, actor, members = None, invitations = None, role = None))]
    #[allow(clippy::too_many_arguments)]
    fn bulk_confirmation(
        &self,
        py: Python<'_>,
        org: OrgId,
        action: &Bound<'_, PyAny>,
        actor: ActorRef,
        members: Option<Vec<MemberId>>,
        invitations: Option<Vec<InvitationId>>,
        role: Option<String>,
    ) -> PyResult<enlist::BulkConfirmation> {
        let request = bulk_request(action, members, invitations, role)?;
        self.run(py, |e| e.bulk_confirmation(&org, &actor.0, &request))
    }

    /// Runs a bulk action: every row under the rules of its single
    /// command, all in one transaction. A destructive action needs the
    /// `confirmation` number of `bulk_confirmation` (else
    /// `InvalidInputError` with code `confirmation_mismatch`, nothing
    /// changed). When any row is refused nothing changes and the report
    /// (`applied` false) names the rows and why.
    #[pyo3(signature = (org, action, *, actor, members = None, invitations = None, role = None, confirmation = None))]
    #[allow(clippy::too_many_arguments)]
    fn bulk_action(
        &self,
        py: Python<'_>,
        org: OrgId,
        action: &Bound<'_, PyAny>,
        actor: ActorRef,
        members: Option<Vec<MemberId>>,
        invitations: Option<Vec<InvitationId>>,
        role: Option<String>,
        confirmation: Option<String>,
    ) -> PyResult<enlist::BulkReport> {
        let request = bulk_request(action, members, invitations, role)?;
        self.run(py, |e| {
            e.bulk_action(&org, &actor.0, &request, confirmation.as_deref())
        })
    }
    // -- dry runs and bulk update (crate::dry_run) ----------------------------

    /// Evaluates an invite request without writing anything: the report
    /// `invite` would give now (`would_issue` and `rejected`, the same
    /// reasons), or the error it would raise. No secret, email or event.
    /// Takes `invite`'s arguments.
    #[pyo3(signature = (org, recipients, *, actor, role = None, kind = None, groups = None, license_type = None, message = None, send = true, form_field = false, locale = None, attributes = None, lifetime = None, redirect_url = None, public_metadata = None, private_metadata = None))]
    fn dry_run_invite(
        &self,
        py: Python<'_>,
        org: OrgId,
        recipients: &Bound<'_, PyAny>,
        actor: ActorRef,
        role: Option<String>,
        kind: Option<&Bound<'_, PyAny>>,
        groups: Option<Grants>,
        license_type: Option<String>,
        message: Option<String>,
        send: bool,
        form_field: bool,
        locale: Option<String>,
        attributes: Option<enlist::Attributes>,
        lifetime: Option<&Bound<'_, PyAny>>,
        redirect_url: Option<String>,
        public_metadata: Option<&Bound<'_, PyAny>>,
        private_metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<crate::dry_run::PyInviteDryRun> {
        let mut req =
            enlist::InviteRequest::new(crate::inputs::recipients(recipients, form_field)?);
        req.role = role;
        req.kind = wire_or_default("kind", kind)?;
        req.groups = groups.map(|g| g.0).unwrap_or_default();
        req.license_type = license_type;
        req.message = message;
        req.send = send;
        req.locale = locale;
        req.attributes = attributes.unwrap_or_default();
        settings_in(
            &mut req,
            lifetime,
            redirect_url,
            public_metadata,
            private_metadata,
        )?;
        self.run(py, |e| e.dry_run_invite(&org, &actor.0, &req))
            .map(Into::into)
    }

    /// Evaluates an import file without writing anything: what
    /// `import_invitations` would report, by line. Takes its arguments.
    #[pyo3(signature = (org, data, *, actor, format, role = None, kind = None, groups = None, license_type = None, message = None, send = true, locale = None, lifetime = None))]
    fn dry_run_import(
        &self,
        py: Python<'_>,
        org: OrgId,
        data: &Bound<'_, PyAny>,
        actor: ActorRef,
        format: &Bound<'_, PyAny>,
        role: Option<String>,
        kind: Option<&Bound<'_, PyAny>>,
        groups: Option<Grants>,
        license_type: Option<String>,
        message: Option<String>,
        send: bool,
        locale: Option<String>,
        lifetime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<crate::dry_run::PyImportDryRun> {
        let bytes = crate::dry_run::file_in(py, data)?;
        let format: enlist::ImportFormat = wire_in("format", format)?;
        let mut defaults = enlist::ImportDefaults::default();
        defaults.role = role;
        defaults.kind = wire_or_default("kind", kind)?;
        defaults.groups = groups.map(|g| g.0).unwrap_or_default();
        defaults.license_type = license_type;
        defaults.message = message;
        defaults.send = send;
        defaults.locale = locale;
        defaults.lifetime_secs = lifetime
            .map(|l| enlist::python_support::secs_in(l, "lifetime"))
            .transpose()?;
        self.run(py, |e| {
            e.dry_run_import(&org, &actor.0, &bytes, format, defaults)
        })
        .map(Into::into)
    }

    /// The diff a bulk update through the import template would make, per
    /// row, without writing anything.
    #[pyo3(signature = (org, data, *, actor, format))]
    fn dry_run_bulk_update(
        &self,
        py: Python<'_>,
        org: OrgId,
        data: &Bound<'_, PyAny>,
        actor: ActorRef,
        format: &Bound<'_, PyAny>,
    ) -> PyResult<crate::dry_run::PyBulkUpdateReport> {
        let bytes = crate::dry_run::file_in(py, data)?;
        let format: enlist::ImportFormat = wire_in("format", format)?;
        self.run(py, |e| {
            e.dry_run_bulk_update(&org, &actor.0, &bytes, format)
        })
        .map(Into::into)
    }

    /// Updates existing members from the import template (matched by
    /// email; names, role, groups, license type, Active, department, job
    /// title; never the email): one transaction per `max_batch` rows, each
    /// row by `update_member`'s rules.
    #[pyo3(signature = (org, data, *, actor, format))]
    fn bulk_update_members(
        &self,
        py: Python<'_>,
        org: OrgId,
        data: &Bound<'_, PyAny>,
        actor: ActorRef,
        format: &Bound<'_, PyAny>,
    ) -> PyResult<crate::dry_run::PyBulkUpdateReport> {
        let bytes = crate::dry_run::file_in(py, data)?;
        let format: enlist::ImportFormat = wire_in("format", format)?;
        self.run(py, |e| {
            e.bulk_update_members(&org, &actor.0, &bytes, format)
        })
        .map(Into::into)
    }

    // -- hooks and the event feed (issue 14) ---------------------------------

    /// This engine (the same store and settings) with `hooks`: an object
    /// with a `before(change)` and/or an `after(change)` method (the
    /// `Hooks` protocol), called around every change the engine records.
    /// An exception raised by `before` refuses the change
    /// (`PermissionDeniedError`, code `hook_refused`, with the exception's
    /// message as `reason`; in a batch, that recipient's rejection
    /// `refused_by_hook`), and nothing of it is kept. `after` runs once
    /// the command committed; its exceptions go to `sys.unraisablehook`
    /// and cannot fail the command. `before` must not call the engine.
    fn with_hooks(&self, hooks: &Bound<'_, PyAny>) -> PyResult<Self> {
        let hooks = crate::hooks::PyHooks::new(hooks)?;
        Ok(Self {
            engine: self.engine.clone().with_hooks(Arc::new(hooks)),
            store: self.store.clone(),
        })
    }

    /// The events of every organization after the cursor `after` (`None`:
    /// from the beginning), oldest first, at most `limit` (1 to 1000),
    /// only the `kinds` named (wire names such as
    /// `"invitation_accepted"`; `None` for all). The host's feed for
    /// webhooks, at least once: deliver the events, then store `next`.
    /// Never let an end user reach it: it takes no actor.
    #[pyo3(signature = (*, after = None, kinds = None, limit = 100))]
    fn event_feed(
        &self,
        py: Python<'_>,
        after: Option<String>,
        kinds: Option<Bound<'_, PyAny>>,
        limit: u32,
    ) -> PyResult<crate::hooks::PyEventFeed> {
        // Counted before a single element is converted: a list of a
        // million kinds is refused without reading it.
        let kinds: Vec<String> = match kinds {
            None => Vec::new(),
            Some(k) if k.is_instance_of::<pyo3::types::PyString>() => {
                return Err(invalid(py, "kinds", "a list of kind names, not one string"));
            }
            Some(k) => {
                if k.len()? > enlist::MAX_FEED_KINDS {
                    return Err(invalid(
                        py,
                        "kinds",
                        format!("at most {} kinds", enlist::MAX_FEED_KINDS),
                    ));
                }
                k.extract()?
            }
        };
        self.run(py, |e| e.event_feed(after.as_deref(), &kinds, limit))
            .map(Into::into)
    }

    // -- verified domains and membership requests ----------------------------

    /// Claims a domain for the organization (pending until verified), with
    /// the DNS TXT record to publish. Needs `manage_policy`.
    #[pyo3(signature = (org, domain, *, actor))]
    fn claim_domain(
        &self,
        py: Python<'_>,
        org: OrgId,
        domain: String,
        actor: ActorRef,
    ) -> PyResult<enlist::OrgDomain> {
        self.run(py, |e| e.claim_domain(&org, &actor.0, &domain))
    }

    /// The organization's domains, pending and verified. Needs
    /// `manage_policy`.
    #[pyo3(signature = (org, *, actor))]
    fn domains(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
    ) -> PyResult<Vec<enlist::OrgDomain>> {
        self.run(py, |e| e.domains(&org, &actor.0))
    }

    /// Gives a domain up; returns whether it was claimed. Needs
    /// `manage_policy`.
    #[pyo3(signature = (org, domain, *, actor))]
    fn remove_domain(
        &self,
        py: Python<'_>,
        org: OrgId,
        domain: String,
        actor: ActorRef,
    ) -> PyResult<bool> {
        self.run(py, |e| e.remove_domain(&org, &actor.0, &domain))
    }

    /// Verifies a claimed domain with the TXT values the host looked up at
    /// its `dns_record_name`. Needs `manage_policy`.
    #[pyo3(signature = (org, domain, *, actor, txt_values))]
    fn verify_domain_dns(
        &self,
        py: Python<'_>,
        org: OrgId,
        domain: String,
        actor: ActorRef,
        txt_values: Vec<String>,
    ) -> PyResult<enlist::OrgDomain> {
        self.run(py, |e| {
            e.verify_domain_dns(&org, &actor.0, &domain, &txt_values)
        })
    }

    /// Mails a verification code to `email`, an address at the domain,
    /// through the outbox. Needs `manage_policy`.
    #[pyo3(signature = (org, domain, *, actor, email))]
    fn send_domain_code(
        &self,
        py: Python<'_>,
        org: OrgId,
        domain: String,
        actor: ActorRef,
        email: String,
    ) -> PyResult<enlist::OrgDomain> {
        self.run(py, |e| e.send_domain_code(&org, &actor.0, &domain, &email))
    }

    /// Verifies a claimed domain with the mailed code. Needs
    /// `manage_policy`.
    #[pyo3(signature = (org, domain, *, actor, code))]
    fn verify_domain_code(
        &self,
        py: Python<'_>,
        org: OrgId,
        domain: String,
        actor: ActorRef,
        code: String,
    ) -> PyResult<enlist::OrgDomain> {
        self.run(py, |e| e.verify_domain_code(&org, &actor.0, &domain, &code))
    }

    /// What people with a verified email at the domain may do (`off`,
    /// `auto_join`, `request`) and the role they get. Needs
    /// `manage_policy` (and `invite_members` to open it).
    #[pyo3(signature = (org, domain, *, actor, enrollment, role = None))]
    fn set_domain_enrollment(
        &self,
        py: Python<'_>,
        org: OrgId,
        domain: String,
        actor: ActorRef,
        enrollment: &Bound<'_, PyAny>,
        role: Option<String>,
    ) -> PyResult<enlist::OrgDomain> {
        let enrollment: enlist::DomainEnrollment = wire_in("enrollment", enrollment)?;
        self.run(py, |e| {
            e.set_domain_enrollment(&org, &actor.0, &domain, enrollment, role.as_deref())
        })
    }

    /// The organizations a person may join or ask to join through the
    /// verified domain of `verified_email` (an address the host vouches
    /// for).
    #[pyo3(signature = (verified_email, *, user_ref = None))]
    fn domain_offers(
        &self,
        py: Python<'_>,
        verified_email: String,
        user_ref: Option<String>,
    ) -> PyResult<Vec<enlist::DomainOffer>> {
        self.run(py, |e| {
            e.domain_offers(&verified_email, user_ref.as_deref())
        })
    }

    /// Joins at once through the organization's verified domain (its
    /// enrollment `auto_join`); `verified_email` is required.
    #[pyo3(signature = (org, *, user_ref, **registration))]
    fn join_by_domain(
        &self,
        py: Python<'_>,
        org: OrgId,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::Member> {
        let reg = registration_in("join_by_domain", user_ref, registration)?;
        self.run(py, |e| e.join_by_domain(&org, reg))
    }

    /// Asks to join through the organization's verified domain (its
    /// enrollment `request`); `verified_email` is required.
    #[pyo3(signature = (org, *, user_ref, **registration))]
    fn request_membership(
        &self,
        py: Python<'_>,
        org: OrgId,
        user_ref: String,
        registration: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<enlist::MembershipRequest> {
        let reg = registration_in("request_membership", user_ref, registration)?;
        self.run(py, |e| e.request_membership(&org, reg))
    }

    /// The account's membership request to the organization, or `None`.
    #[pyo3(signature = (org, *, user_ref))]
    fn my_membership_request(
        &self,
        py: Python<'_>,
        org: OrgId,
        user_ref: String,
    ) -> PyResult<Option<enlist::MembershipRequest>> {
        self.run(py, |e| e.my_membership_request(&org, &user_ref))
    }

    /// A page of membership requests, oldest first, of one `status` if
    /// given. Needs `manage_members`.
    #[pyo3(signature = (org, *, actor, status = None, after = None, limit = 50))]
    fn membership_requests(
        &self,
        py: Python<'_>,
        org: OrgId,
        actor: ActorRef,
        status: Option<&Bound<'_, PyAny>>,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<crate::types::PyMembershipRequestPage> {
        let query = enlist::MembershipRequestQuery {
            status: status.map(|s| wire_in("status", s)).transpose()?,
            after,
            limit,
        };
        self.run(py, |e| e.membership_requests(&org, &actor.0, &query))
            .map(Into::into)
    }

    /// Approves a pending membership request with `role` (default: the
    /// domain's). Needs `manage_members` and `invite_members`.
    #[pyo3(signature = (org, request, *, actor, role = None))]
    fn approve_membership_request(
        &self,
        py: Python<'_>,
        org: OrgId,
        request: enlist::MembershipRequestId,
        actor: ActorRef,
        role: Option<String>,
    ) -> PyResult<enlist::Member> {
        self.run(py, |e| {
            e.approve_membership_request(&org, &actor.0, &request, role.as_deref())
        })
    }

    /// Declines a pending membership request. Needs `manage_members`.
    #[pyo3(signature = (org, request, *, actor))]
    fn decline_membership_request(
        &self,
        py: Python<'_>,
        org: OrgId,
        request: enlist::MembershipRequestId,
        actor: ActorRef,
    ) -> PyResult<enlist::MembershipRequest> {
        self.run(py, |e| {
            e.decline_membership_request(&org, &actor.0, &request)
        })
    }
}

/// The request of `bulk_confirmation` and `bulk_action`.
fn bulk_request(
    action: &Bound<'_, PyAny>,
    members: Option<Vec<MemberId>>,
    invitations: Option<Vec<InvitationId>>,
    role: Option<String>,
) -> PyResult<enlist::BulkRequest> {
    let action: enlist::BulkAction = wire_in("action", action)?;
    let mut request = enlist::BulkRequest::members(action, members.unwrap_or_default());
    request.invitations = invitations.unwrap_or_default();
    request.role = role;
    Ok(request)
}

/// The per-invitation settings of `invite` and `dry_run_invite` (issue
/// 14): a `timedelta` lifetime, a redirect URL, and the two metadata
/// dicts, each checked as it crosses.
fn settings_in(
    req: &mut enlist::InviteRequest,
    lifetime: Option<&Bound<'_, PyAny>>,
    redirect_url: Option<String>,
    public_metadata: Option<&Bound<'_, PyAny>>,
    private_metadata: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    req.lifetime_secs = lifetime
        .map(|l| enlist::python_support::secs_in(l, "lifetime"))
        .transpose()?;
    req.redirect_url = redirect_url;
    req.public_metadata = public_metadata
        .map(|m| enlist::python_support::metadata_in(m, "public_metadata"))
        .transpose()?;
    req.private_metadata = private_metadata
        .map(|m| enlist::python_support::metadata_in(m, "private_metadata"))
        .transpose()?;
    Ok(())
}

/// A link and its URL as `enlist._links.ActivatedLink`, a named tuple whose
/// repr hides the token.
fn activated_link<'py>(
    py: Python<'py>,
    made: enlist::ActivatedLink,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("enlist._links")?
        .getattr("ActivatedLink")?
        .call1((made.link, made.url.expose().to_owned()))
}

/// The engine calls `tools/bench.sh` times from Python, made here in Rust
/// on the same engine with the same arguments (converted once, outside the
/// timing), so the binding's overhead is the difference of two figures of
/// one process. Compiled only with the `bench` feature: no published wheel
/// has them.
#[cfg(feature = "bench")]
pub(crate) mod bench {
    use super::PyEnlist;
    use crate::errors::OrRaise;
    use crate::inputs::ActorRef;
    use enlist::{InvitationId, OrgId};
    use pyo3::prelude::*;
    use std::hint::black_box;
    use std::time::Instant;

    /// Nanoseconds per call of `Enlist::organization(org)`, over `n` calls.
    #[pyfunction]
    pub(crate) fn _bench_organization(
        py: Python<'_>,
        engine: &Bound<'_, PyEnlist>,
        org: OrgId,
        n: u32,
    ) -> PyResult<f64> {
        let e = &engine.get().engine;
        ns_per_call(py, n, || e.organization(black_box(&org)))
    }

    /// Nanoseconds per call of `call`, over `n` calls, without the GIL.
    fn ns_per_call<T>(
        py: Python<'_>,
        n: u32,
        call: impl Fn() -> enlist::Result<T> + Sync,
    ) -> PyResult<f64> {
        let elapsed = py
            .detach(|| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(call()?);
                }
                Ok::<_, enlist::Error>(start.elapsed())
            })
            .or_raise(py)?;
        Ok(elapsed.as_nanos() as f64 / f64::from(n.max(1)))
    }

    /// Nanoseconds per call of `Enlist::invitation(org, actor, invitation)`,
    /// over `n` calls.
    #[pyfunction]
    pub(crate) fn _bench_invitation(
        py: Python<'_>,
        engine: &Bound<'_, PyEnlist>,
        org: OrgId,
        invitation: InvitationId,
        actor: ActorRef,
        n: u32,
    ) -> PyResult<f64> {
        let e = &engine.get().engine;
        ns_per_call(py, n, || {
            e.invitation(black_box(&org), &actor.0, &invitation)
        })
    }

    /// Nanoseconds of one `Enlist::invite(org, actor, request)` of these
    /// addresses (as `Enlist.invite(org, [...], actor=..., send=...)` makes
    /// it), and the number of invitations it issued.
    #[pyfunction]
    pub(crate) fn _bench_invite(
        py: Python<'_>,
        engine: &Bound<'_, PyEnlist>,
        org: OrgId,
        recipients: Vec<String>,
        actor: ActorRef,
        send: bool,
    ) -> PyResult<(f64, usize)> {
        let e = &engine.get().engine;
        let rows = recipients
            .iter()
            .map(|r| enlist::RecipientInput::email(r.as_str()))
            .collect();
        let mut req = enlist::InviteRequest::new(enlist::Recipients::List(rows));
        req.send = send;
        let (elapsed, issued) = py
            .detach(|| {
                let start = Instant::now();
                let report = e.invite(&org, &actor.0, req)?;
                let elapsed = start.elapsed();
                Ok::<_, enlist::Error>((elapsed, report.issued.len()))
            })
            .or_raise(py)?;
        Ok((elapsed.as_nanos() as f64, issued))
    }

    /// Adds the functions to the module.
    pub(crate) fn add_functions(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add_function(wrap_pyfunction!(_bench_organization, m)?)?;
        m.add_function(wrap_pyfunction!(_bench_invitation, m)?)?;
        m.add_function(wrap_pyfunction!(_bench_invite, m)?)?;
        Ok(())
    }
}
