//! Every route x every kind of principal x own / other tenant, with the
//! expected answer in one table. A route the router serves but the table
//! lacks (or the other way round) fails the test.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use mandate::auth::policy::{self, Access, Role};
use mandate::policies::versions::model::{Bump, PolicyKind};
use mandate::people::import::Row as ImportRow;
use sqlx::PgPool;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// A small but complete PDF.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// Columns of the table, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum P {
    Anon,
    Owner,
    IsmsLead,
    Executive,
    Contributor,
    Auditor,
    /// The owner of organisation B: "own" ids are B's, "other" ids are A's.
    OtherOwner,
    /// A user whose membership of A is disabled.
    Disabled,
}
const PRINCIPALS: [P; 8] = [P::Anon, P::Owner, P::IsmsLead, P::Executive, P::Contributor, P::Auditor, P::OtherOwner, P::Disabled];

/// What a row expects: a status code, or `login` (303 to the sign-in page),
/// `orgs` (303 to the organisation chooser).
type Row = (&'static str, &'static str, [&'static str; 8], Option<[&'static str; 8]>);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    //  method  path                              anon     owner  isms   exec   contrib audit  B-owner disabled        other tenant's ids
    ("GET",  "/healthz",                     ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/readyz",                      ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/static/{file}",               ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/",                            ["200",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("GET",  "/dashboard",                   ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/signup",                      ["200",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/signup",                      ["422",  "422", "422", "422", "422", "422", "422", "422"], None),
    // A sign-up link works for whoever holds it; an unknown or used one is gone.
    ("GET",  "/signup/{token}",              ["410",  "410", "410", "410", "410", "410", "410", "410"], None),
    ("POST", "/signup/{token}",              ["410",  "410", "410", "410", "410", "410", "410", "410"], None),
    ("GET",  "/login",                       ["200",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/login",                       ["401",  "401", "401", "401", "401", "401", "401", "401"], None),
    ("POST", "/logout",                      ["login","login","login","login","login","login","login","login"], None),
    ("GET",  "/account",                     ["login","200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/account/password",            ["login","422", "422", "422", "422", "422", "422", "422"], None),
    // Two-step sign-in: each account its own. Without an app, nothing to remove or renew.
    ("GET",  "/account/two-factor",          ["login","200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/account/two-factor/app",      ["login","303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/account/two-factor/app/confirm",["login","422","422", "422", "422", "422", "422", "422"], None),
    ("POST", "/account/two-factor/app/remove",["login","303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/account/two-factor/recovery-codes",["login","303","303","303", "303", "303", "303", "303"], None),
    // Passkeys: each account its own (another account's passkey is not found, like a missing one).
    ("POST", "/account/passkeys/options",    ["login","200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/account/passkeys",            ["login","303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/account/passkeys/{id}/remove",["login","404", "404", "404", "404", "404", "404", "404"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "404"])),
    ("POST", "/account/step-up/passkey-options",["login","404","404","404", "404", "404", "404", "404"], None),
    ("POST", "/login/passkey/options",       ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/login/passkey",               ["303",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/login/code/passkey-options",  ["404",  "404", "404", "404", "404", "404", "404", "404"], None),
    // The second step of signing in: without a pending sign-in, back to the start (or on, when signed in).
    ("GET",  "/login/code",                  ["303",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/login/code",                  ["303",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("GET",  "/orgs",                        ["login","200", "200", "200", "200", "200", "200", "200"], None),
    ("POST", "/orgs",                        ["login","303", "303", "303", "303", "303", "303", "303"], None),
    ("POST", "/orgs/switch",                 ["login","303", "303", "303", "303", "303", "303", "404"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "404"])),
    ("GET",  "/members",                     ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    // Settings: everyone reads how findings are graded; owners and ISMS leads change it.
    ("GET",  "/settings",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/settings/grading",            ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    // Single sign-on: owners set it up; the sign-in and the provider's answer are public (without a sign-in under way, back to the start).
    ("GET",  "/settings/sso",                ["login","200", "403", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/settings/sso",                ["login","422", "403", "403", "403", "403", "422", "orgs"], None),
    ("POST", "/settings/sso/remove",         ["login","303", "403", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/login/sso",                   ["303",  "303", "303", "303", "303", "303", "303", "303"], None),
    ("GET",  "/auth/oidc/callback",          ["303",  "303", "303", "303", "303", "303", "303", "303"], None),
    // Sign-in rules: owners only.
    ("POST", "/settings/sign-in",            ["login","303", "403", "403", "403", "403", "303", "orgs"], None),
    // The logo: removed (or found missing), then set, by owners and ISMS leads; everyone sees it.
    ("POST", "/settings/logo/remove",        ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/settings/logo",               ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/settings/logo",               ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    // E-mail settings: each member their own; auditors get no e-mail and change nothing.
    ("GET",  "/settings/notifications",      ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    // Issued links, downloaded once by who issued them (none issued here: not found alike for every id).
    ("POST", "/link-exports/{id}/download",  ["login","404", "404", "404", "404", "404", "404", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/settings/notifications",      ["login","303", "303", "303", "303", "403", "303", "orgs"], None),
    // The outbox: owners read what was written to members.
    ("GET",  "/outbox",                      ["login","200", "403", "403", "403", "403", "200", "orgs"], None),
    // A member's unsubscribe link works for whoever holds it (it only stops mail); one click needs no form token.
    ("GET",  "/unsubscribe/{token}",         ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/unsubscribe/{token}",         ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/unsubscribe/{token}/one-click",["200", "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/members.csv",                 ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/members/invite",              ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/members/{id}/role",           ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/members/{id}/window",         ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/members/{id}/disable",        ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/members/{id}/enable",         ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/invitations/{id}/revoke",     ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/invite/{token}",              ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/invite/{token}",              ["422",  "410", "410", "410", "410", "410", "410", "410"],
                                        Some(["422",  "410", "410", "410", "410", "410", "410", "410"])),
    ("GET",  "/security",                    ["login","200", "403", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/security.csv",                ["login","200", "403", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/audit",                       ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/audit.csv",                   ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    // Requirements: the catalogue is shared, so there is no other tenant's id; the state written is the member's own.
    ("GET",  "/requirements",                ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/requirements.csv",            ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/requirements/{id}",           ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/requirements/{id}/evidence.zip", ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/requirements/{id}",           ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    // People directory and its import.
    ("GET",  "/people",                      ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/people.csv",                  ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    // Person fields' suggestions: whoever reads the directory.
    ("GET",  "/people/search",               ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/people/new",                  ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/people",                      ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/people/import",               ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/people/import/template.csv",  ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/people/import",               ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/people/import/{id}",          ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/people/import/{id}/apply",    ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/people/{id}",                 ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/people/{id}",                 ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/people/{id}/leaver",          ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Only the account holder links an entry, and only the one with their own address: none here has it.
    ("POST", "/people/{id}/this-is-me",      ["login","404", "404", "404", "404", "403", "404", "orgs"],
                                        Some(["login","404", "404", "404", "404", "403", "404", "orgs"])),
    // The top-management roster: everyone reads; owners propose; a leader other than the proposer
    // (the executive in A) decides; the proposer withdraws. B's owner proposed B's changes.
    ("GET",  "/people/roster",               ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/people/roster.csv",           ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/people/roster",               ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    ("POST", "/people/roster/{id}/confirm",  ["login","409", "403", "303", "403", "403", "409", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/people/roster/{id}/refuse",   ["login","409", "403", "303", "403", "403", "409", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/people/roster/{id}/withdraw", ["login","303", "403", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "403", "403", "403", "404", "orgs"])),
    // ISMS roles and appointments.
    ("GET",  "/roles",                       ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/roles.csv",                   ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/roles",                       ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/roles/starter",               ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/roles/{id}",                  ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/roles/{id}",                  ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/roles/{id}/retire",           ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/roles/{id}/appointments",     ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Only the appointer (the executive's own directory entry) confirms; only the holder (the contributor's) accepts.
    ("POST", "/appointments/{id}/confirm",   ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/appointments/{id}/accept",    ["login","403", "403", "403", "303", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // Letters signed on paper: the appointer's signature only by top management; the holder's
    // countersignature also by those who record appointments.
    ("POST", "/appointments/{id}/paper-confirmation", ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/appointments/{id}/paper-acceptance",   ["login","303", "303", "303", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/appointments/{id}/link",      ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/appointments/{id}/end",       ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/appointments/{id}/hats",      ["login","303", "303", "403", "303", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // A personal link works for whoever holds it, signed in or not.
    ("GET",  "/accept-role/{token}",         ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/accept-role/{token}",         ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    // RACI matrix.
    ("GET",  "/raci",                        ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/raci.csv",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/raci",                        ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/raci/activities",             ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/raci/starter",                ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/raci/activities/{id}/retire", ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Evidence: everyone reads, auditors upload nothing; changing an item takes ManageEvidence or owning it.
    ("GET",  "/evidence",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/evidence.csv",                ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/evidence/new",                ["login","200", "200", "200", "200", "403", "200", "orgs"], None),
    ("POST", "/evidence",                    ["login","303", "303", "303", "303", "403", "303", "orgs"], None),
    ("GET",  "/evidence/files/{id}",         ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("GET",  "/evidence/{id}",               ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/evidence/{id}",               ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "403", "404", "orgs"])),
    ("POST", "/evidence/{id}/revisions",     ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "403", "404", "orgs"])),
    ("POST", "/evidence/{id}/links",         ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "403", "404", "orgs"])),
    ("POST", "/evidence/{id}/links/remove",  ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "403", "404", "orgs"])),
    // Policies: owners and ISMS leads draft; owners and executives sign; everyone reads.
    ("GET",  "/policies",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/policies.csv",                ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/policies",                    ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/policies/{id}",               ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/policies/{id}",               ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/policies/{id}/versions",      ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/policies/versions/{id}",      ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/policies/versions/{id}",      ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Approvals given on paper before Mandate: recorded by a member of top management, signed in as themselves.
    // Passkey signatures' options for the other acts: only the chair (the executive chairs; without a passkey, nothing to
    // ask), the appointer, a leader (a form with mistakes is refused before anything is signed).
    ("POST", "/meetings/{id}/sign-off/passkey-options", ["login","403", "403", "404", "403", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/appointments/{id}/confirm/passkey-options", ["login","404", "404", "404", "404", "404", "404", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/findings/{id}/accept/passkey-options", ["login","403", "403", "400", "403", "403", "403", "orgs"],
                                        Some(["login","404", "403", "404", "403", "403", "404", "orgs"])),
    // A passkey signature's options: for those who sign; asked of a version already signed, a conflict.
    ("POST", "/policies/versions/{id}/sign/passkey-options", ["login","409", "403", "409", "403", "403", "409", "orgs"],
                                        Some(["login","404", "403", "404", "403", "403", "404", "orgs"])),
    ("POST", "/policies/versions/{id}/paper", ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "403", "404", "403", "403", "404", "orgs"])),
    ("POST", "/policies/versions/{id}/sign", ["login","303", "403", "303", "403", "403", "303", "orgs"],
                                        Some(["login","404", "403", "404", "403", "403", "404", "orgs"])),
    // Addenda to a signed version: owners and ISMS leads, and its signer (A's owner signed it).
    ("POST", "/policies/versions/{id}/addenda", ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // Acknowledging needs a directory entry of one's own: the executive's and the contributor's.
    ("POST", "/policies/versions/{id}/acknowledge", ["login","403", "403", "303", "303", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/policies/versions/{id}/campaigns", ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/campaigns/{id}",              ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("GET",  "/campaigns/{id}/csv",          ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/campaigns/{id}/reminders",    ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Personal links and public pages work for whoever holds the address.
    ("GET",  "/ack/{token}",                 ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/ack/{token}",                 ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/ack/{token}/document",        ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/p/{slug}",                    ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/p/{slug}/document",           ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/ack/{token}/logo",            ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/p/{slug}/logo",               ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/onboarding",                  ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/onboarding.csv",              ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    // Training: everyone reads; owners and ISMS leads record and import.
    ("GET",  "/training",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/training/modules",            ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/training/modules/{id}",       ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/training/modules/{id}",       ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/training/modules/{id}/records", ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/training/modules/{id}/csv",   ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // Training campaigns: owners and ISMS leads send them; everyone follows them.
    ("POST", "/training/modules/{id}/campaigns", ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/training/campaigns/{id}",     ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("GET",  "/training/campaigns/{id}/csv", ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/training/campaigns/{id}/reminders", ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // A personal training link works for whoever holds it (its person has confirmed already).
    ("GET",  "/training-link/{token}",       ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("POST", "/training-link/{token}",       ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    ("GET",  "/training-link/{token}/logo",  ["200",  "200", "200", "200", "200", "200", "200", "200"],
                                        Some(["200",  "200", "200", "200", "200", "200", "200", "200"])),
    // Acknowledgements given elsewhere, imported: whoever manages policies.
    ("GET",  "/acknowledgements/import",     ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/acknowledgements/import/template.csv", ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/acknowledgements/import",     ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/acknowledgements/import/{id}", ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/acknowledgements/import/{id}/apply", ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/policies/{id}/withdraw",      ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/training/modules/{id}/retire", ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/training/import",             ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("GET",  "/training/import/template.csv", ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/training/import",             ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/training/import/{id}",        ["login","200", "200", "403", "403", "403", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/training/import/{id}/apply",  ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Leadership records: everyone reads; owners and ISMS leads record. The chair signs minutes off, the person asked answers.
    ("GET",  "/meetings",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/meetings.csv",                ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/meetings/new",                ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/meetings",                    ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("POST", "/meetings/cadence",            ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/meetings/{id}",               ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/meetings/{id}",               ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/meetings/{id}/sign-off",      ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // A sign-off given on paper: recorded only by a member of top management, as themselves.
    ("POST", "/meetings/{id}/paper",         ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // Addenda to signed-off minutes: owners and ISMS leads, and the chair (the executive's own directory entry).
    ("POST", "/meetings/{id}/addenda",       ["login","303", "303", "303", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/meetings/{id}/actions",       ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/actions",                     ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/actions.csv",                 ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/actions/{id}",                ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/actions/{id}",                ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/decisions",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/decisions.csv",                ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/decisions/new",                ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/decisions",                    ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/decisions/{id}",             ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/decisions/{id}",             ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/communications",               ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/communications.csv",           ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/communications/new",           ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/communications",               ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/communications/{id}",        ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/communications/{id}",        ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/objectives",                   ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/objectives.csv",               ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/objectives/new",               ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/objectives",                   ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/objectives/{id}",            ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/objectives/{id}",            ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("GET",  "/asks",                         ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/asks.csv",                     ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/asks/new",                     ["login","200", "200", "403", "403", "403", "200", "orgs"], None),
    ("POST", "/asks",                         ["login","303", "303", "403", "403", "403", "303", "orgs"], None),
    ("GET",  "/asks/{id}",                  ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/asks/{id}",                  ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/asks/{id}/respond",           ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // Gaps and the leadership dashboard: everyone in the organisation reads them.
    ("GET",  "/gaps",                        ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/gaps.csv",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/leadership",                  ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/leadership/trend.svg",        ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    // Corrective actions: everyone reads; owners and ISMS leads (and a finding's owner) write them down;
    // only top management (A's executive acts for the CEO on the roster) accepts a risk or ends an acceptance.
    ("GET",  "/findings",                    ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/findings.csv",                ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/findings/{id}",               ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/findings/{id}",               ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/findings/{id}/accept",        ["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "403", "404", "403", "403", "404", "orgs"])),
    ("POST", "/findings/{id}/end-acceptance",["login","403", "403", "303", "403", "403", "403", "orgs"],
                                        Some(["login","404", "403", "404", "403", "403", "404", "orgs"])),
    // Evidence requests: everyone reads; auditors, owners and ISMS leads ask and close; owners and ISMS leads answer.
    ("GET",  "/evidence-requests",           ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("GET",  "/evidence-requests.csv",       ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/evidence-requests",           ["login","303", "303", "403", "403", "303", "303", "orgs"], None),
    ("GET",  "/evidence-requests/{id}",      ["login","200", "200", "200", "200", "200", "200", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    ("POST", "/evidence-requests/{id}/link", ["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    ("POST", "/evidence-requests/{id}/answer",["login","303", "303", "403", "403", "403", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "403", "404", "orgs"])),
    // Closing is the asker's verdict: the owner raised this one; any auditor may close.
    ("POST", "/evidence-requests/{id}/close",["login","303", "403", "403", "403", "303", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "404", "404", "orgs"])),
    ("POST", "/evidence-requests/{id}/reopen",["login","303", "403", "403", "403", "303", "303", "orgs"],
                                        Some(["login","404", "404", "403", "403", "404", "404", "orgs"])),
    // Evidence bundles: owners, ISMS leads and auditors make and download them.
    ("GET",  "/bundles",                     ["login","200", "200", "403", "403", "200", "200", "orgs"], None),
    ("POST", "/bundles",                     ["login","303", "303", "403", "403", "303", "303", "orgs"], None),
    ("GET",  "/bundles/{id}",                ["login","200", "200", "403", "403", "200", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "404", "404", "orgs"])),
    ("GET",  "/bundles/{id}/download",       ["login","200", "200", "403", "403", "200", "200", "orgs"],
                                        Some(["login","404", "404", "403", "403", "404", "404", "orgs"])),
    // API tokens: each member their own; owners also every integration token (the tenant's is the owner's).
    ("GET",  "/account/tokens",              ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/account/tokens",              ["login","200", "200", "200", "200", "200", "200", "orgs"], None),
    ("POST", "/account/tokens/{id}/revoke",  ["login","303", "404", "404", "404", "404", "303", "orgs"],
                                        Some(["login","404", "404", "404", "404", "404", "404", "orgs"])),
    // The JSON API: a bearer token (every principal here holds one with every scope; the disabled member's is refused).
    ("GET",  "/api/v1/openapi.json",         ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/docs/api",                 ["200",  "200", "200", "200", "200", "200", "200", "200"], None),
    ("GET",  "/api/v1/me",                   ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/people",               ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("POST", "/api/v1/people",               ["401",  "201", "201", "403", "403", "403", "201", "401"], None),
    ("POST", "/api/v1/people/sync",          ["401",  "200", "200", "403", "403", "403", "200", "401"], None),
    ("GET",  "/api/v1/people/{id}",          ["401",  "200", "200", "200", "200", "200", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
    ("PATCH","/api/v1/people/{id}",          ["401",  "200", "200", "403", "403", "403", "200", "401"],
                                        Some(["401",  "404", "404", "403", "403", "403", "404", "401"])),
    ("GET",  "/api/v1/requirements",         ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/requirements/{id}",    ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/roles",                ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/appointments",         ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/evidence",             ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/evidence/files/{id}",  ["401",  "200", "200", "200", "200", "200", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
    ("GET",  "/api/v1/evidence/{id}",        ["401",  "200", "200", "200", "200", "200", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
    ("GET",  "/api/v1/policies",             ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/policies/{id}",        ["401",  "200", "200", "200", "200", "200", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
    ("GET",  "/api/v1/training/modules",     ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/training/records",     ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/meetings",             ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/meetings/{id}",        ["401",  "200", "200", "200", "200", "200", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
    ("GET",  "/api/v1/findings",             ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/findings/{id}",        ["401",  "200", "200", "200", "200", "200", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
    ("GET",  "/api/v1/gaps",                 ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/decisions",                ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/communications",           ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/objectives",               ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/asks",                     ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/actions",                  ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/policy-versions",          ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/acknowledgements",         ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/evidence-requests",        ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("POST", "/api/v1/evidence/{id}/revisions",["401","201","201", "403", "403", "403", "201", "401"],
                                        Some(["401",  "404", "404", "404", "404", "403", "404", "401"])),
    ("GET",  "/api/v1/members",              ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/raci",                 ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/audit-log",            ["401",  "200", "200", "403", "403", "403", "200", "401"], None),
    ("GET",  "/api/v1/oscal/catalog",        ["401",  "200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/oscal/component-definition",["401","200", "200", "200", "200", "200", "200", "401"], None),
    ("GET",  "/api/v1/oscal/assessment-results",["401", "200", "200", "200", "200", "200", "200", "401"], None),
    ("POST", "/api/v1/training/records/sync",["401",  "200", "200", "403", "403", "403", "200", "401"], None),
    ("POST", "/api/v1/acknowledgements",     ["401",  "200", "200", "403", "403", "403", "200", "401"], None),
    ("POST", "/api/v1/evidence",             ["401",  "201", "201", "201", "201", "403", "201", "401"], None),
    // A finding's corrective action: owners and ISMS leads; its owner (nobody here); never another tenant's.
    ("PATCH","/api/v1/findings/{id}",        ["401",  "200", "200", "403", "403", "403", "200", "401"],
                                        Some(["401",  "404", "404", "404", "404", "404", "404", "401"])),
];
/// One organisation's ids, as the path and form placeholders need them.
/// Requests that use something up (revoke, apply, retire, end) get one each
/// per principal, so every case meets the same state.
struct Tenant {
    org: OrgId,
    /// The owner's unsubscribe link secret.
    unsubscribe: String,
    /// Two open findings: one to write down and accept, one accepted (in A, by its executive) to end.
    findings: Vec<Uuid>,
    /// A contributor whose role and status the owner's requests touch.
    target_member: Uuid,
    /// An auditor whose access window the requests set.
    auditor_member: Uuid,
    /// One open invitation per principal, so each revoke has its own.
    invitations: HashMap<P, Uuid>,
    /// An invitation for an address that has no account.
    token: String,
    person: Uuid,
    person_email: String,
    imports: HashMap<P, Uuid>,
    role: Uuid,
    retire_roles: HashMap<P, Uuid>,
    withdraw_policies: HashMap<P, Uuid>,
    retire_modules: HashMap<P, Uuid>,
    /// A top-management person who makes the appointments.
    appointer: Uuid,
    /// People each principal's appointment request names.
    appointees: HashMap<P, Uuid>,
    /// Made by `appointer`, not yet confirmed.
    confirm_appointment: Uuid,
    /// Held by `holder`, not yet accepted.
    accept_appointment: Uuid,
    holder: Uuid,
    link_appointment: Uuid,
    end_appointments: HashMap<P, Uuid>,
    /// Neither confirmed nor accepted, one per principal to record as signed on paper.
    paper_appointments: HashMap<P, Uuid>,
    role_token: String,
    activities: HashMap<P, Uuid>,
    evidence: Uuid,
    revision: Uuid,
    policy: Uuid,
    draft: Uuid,
    sign_drafts: HashMap<P, Uuid>,
    /// One draft with a document per principal, to record as approved on paper.
    paper_drafts: HashMap<P, Uuid>,
    signed: Uuid,
    campaign: Uuid,
    ack_token: String,
    public_slug: String,
    module: Uuid,
    training_campaign: Uuid,
    training_token: String,
    training_imports: HashMap<P, Uuid>,
    ack_imports: HashMap<P, Uuid>,
    meeting: Uuid,
    /// Chaired by `appointer` and signed off: it takes addenda.
    signed_meeting: Uuid,
    /// Held with minutes and chaired by `appointer`, one per principal to sign off.
    sign_meetings: HashMap<P, Uuid>,
    /// The same, one per principal to record as signed off on paper.
    paper_meetings: HashMap<P, Uuid>,
    action: Uuid,
    decision: Uuid,
    communication: Uuid,
    objective: Uuid,
    ask: Uuid,
    /// Asked of `appointer`, one per principal to answer.
    answer_asks: HashMap<P, Uuid>,
    /// An auditor's evidence request on 5.1(a).
    request: Uuid,
    /// A finished evidence bundle.
    bundle: Uuid,
    /// Someone with an account whom an owner may propose for top management.
    roster_candidate: Uuid,
    /// Pending roster changes proposed by the owner, one per route and principal.
    roster_changes: HashMap<(&'static str, P), Uuid>,
    /// The owner's integration token.
    api_token: Uuid,
    /// Today by the app's clock.
    today: String,
}

struct World {
    app: TestApp,
    users: HashMap<P, (Uuid, Option<OrgId>)>,
    /// Each principal's bearer token, with every scope.
    tokens: HashMap<P, String>,
    a: Tenant,
    b: Tenant,
}

async fn tenant(app: &TestApp, name: &str, owner: Uuid) -> Tenant {
    let org = app.org(name, owner).await;
    let target_user = app.user(&format!("target@{name}.example"), "Target").await;
    let target_member = app.member(org, target_user, Role::Contributor).await;
    let auditor_user = app.user(&format!("auditor-target@{name}.example"), "Target Auditor").await;
    let auditor_member = app.member(org, auditor_user, Role::Auditor).await;
    let mut invitations = HashMap::new();
    for (i, p) in PRINCIPALS.iter().enumerate() {
        let (id, _) = app.invitation(org, owner, &format!("revoke{i}@{name}.example"), Role::Auditor).await;
        invitations.insert(*p, id);
    }
    let (_, token) = app.invitation(org, owner, &format!("newcomer@{name}.example"), Role::Contributor).await;
    let person_email = format!("person@{name}.example");
    let person = app.person(org, "Target Person", &person_email, false).await;
    let role = app.role(org, "Shared role", true, false).await;
    let appointer = app.person(org, "Chief Executive", &format!("ceo@{name}.example"), true).await;
    let holder = app.person(org, "Role Holder", &format!("holder@{name}.example"), false).await;
    let (confirm_appointment, _) = app.appoint(org, role, holder, appointer).await;
    let accept_role = app.role(org, "Accept role", false, true).await;
    let (accept_appointment, role_token) = app.appoint(org, accept_role, holder, appointer).await;
    let link_person = app.person(org, "Link Person", &format!("link@{name}.example"), false).await;
    let (link_appointment, _) = app.appoint(org, role, link_person, appointer).await;
    let (mut withdraw_policies, mut retire_modules) = (HashMap::new(), HashMap::new());
    let (mut imports, mut retire_roles, mut appointees, mut end_appointments, mut activities, mut paper_appointments) =
        (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new());
    for p in PRINCIPALS {
        let rows = vec![ImportRow { line: 2, name: format!("Imported {p:?}"), email: format!("imported-{p:?}@{name}.example").to_lowercase(), ..Default::default() }];
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO imports (id, org_id, kind, created_by, created_at, filename, file_sha256, columns, rows, problems)
             VALUES ($1, $2, 'people', $3, now(), 'people.csv', '\\x00', ARRAY['name','email'], $4, '[]')",
        )
        .bind(id)
        .bind(org)
        .bind(owner)
        .bind(sqlx::types::Json(&rows))
        .execute(app.db())
        .await
        .unwrap();
        imports.insert(p, id);
        retire_roles.insert(p, app.role(org, &format!("Retire {p:?}"), false, false).await);
        withdraw_policies.insert(p, app.policy(org, &format!("Withdraw {p:?}"), PolicyKind::TopicSpecific, false).await);
        retire_modules.insert(p, app.module(org, &format!("Retire module {p:?}")).await);
        let someone = app.person(org, &format!("Appointee {p:?}"), &format!("appointee-{p:?}@{name}.example").to_lowercase(), false).await;
        appointees.insert(p, someone);
        let ender = app.person(org, &format!("Ending {p:?}"), &format!("ending-{p:?}@{name}.example").to_lowercase(), false).await;
        end_appointments.insert(p, app.appoint(org, role, ender, appointer).await.0);
        let on_paper = app.person(org, &format!("On paper {p:?}"), &format!("paper-{p:?}@{name}.example").to_lowercase(), false).await;
        paper_appointments.insert(p, app.appoint(org, role, on_paper, appointer).await.0);
        activities.insert(p, app.activity(org, &format!("Activity {p:?}")).await);
    }
    let roster_candidate = app.person(org, "Target", &format!("target@{name}.example"), false).await;
    app.link(org, roster_candidate, target_user).await;
    let mut roster_changes = HashMap::new();
    for decision in ["confirm", "refuse", "withdraw"] {
        for p in PRINCIPALS {
            let who = app.person(org, &format!("Roster {decision} {p:?}"), &format!("roster-{decision}-{p:?}@{name}.example").to_lowercase(), false).await;
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO roster_changes (id, org_id, person_id, change, proposed_by, proposed_at, status) VALUES ($1, $2, $3, 'add', $4, now(), 'pending')",
            )
            .bind(id)
            .bind(org)
            .bind(who)
            .bind(owner)
            .execute(app.db())
            .await
            .unwrap();
            roster_changes.insert((decision, p), id);
        }
    }
    let (evidence, revision) = app.evidence(org, "Signed policy", "policy.pdf", PDF).await;
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, true).await;
    let signed = app.draft(org, policy, "", Some(revision), Bump::Major).await;
    app.sign(org, signed, owner, true).await;
    let draft = app.draft(org, policy, "# Draft\n\nText.", None, Bump::Minor).await;
    let mut sign_drafts = HashMap::new();
    let mut paper_drafts = HashMap::new();
    for p in PRINCIPALS {
        // The same file, so the newest signed version always has a document.
        sign_drafts.insert(p, app.draft(org, policy, "", Some(revision), Bump::Minor).await);
        paper_drafts.insert(p, app.draft(org, policy, "", Some(revision), Bump::Minor).await);
    }
    // The link's reader has acknowledged already, so reminders never replace the link.
    let reader = app.person(org, "Reader", &format!("reader@{name}.example"), false).await;
    let (campaign, ack_token) = app.campaign(org, signed, reader).await;
    let mut tx = app.db().begin().await.unwrap();
    mandate::policies::acks::model::acknowledge(&mut tx, &mandate::audit::Actor::system(Some(org), "test"), app.state.clock.now(), org, mandate::ids::PersonId(reader), mandate::ids::VersionId(signed), mandate::policies::acks::model::Method::Link, "192.0.2.2", "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let public_slug: String = sqlx::query_scalar("SELECT public_slug FROM policies WHERE id = $1").bind(policy).fetch_one(app.db()).await.unwrap();
    let module = app.module(org, "Security awareness").await;
    // The link's person has confirmed already, so reminders never replace the link.
    let (training_campaign, training_token) = app.training_campaign(org, module, reader).await;
    {
        use mandate::training::campaigns::model as campaigns;
        let target = campaigns::by_token(app.db(), &training_token).await.unwrap();
        let mut tx = app.db().begin().await.unwrap();
        assert!(campaigns::confirm(&mut tx, &mandate::audit::Actor::system(Some(org), "test"), app.state.clock.now(), &target, &campaigns::Confirmation { completed_on: app.state.clock.now().date_naive(), client_addr: "192.0.2.2".into(), user_agent: "test".into() }).await.unwrap());
        tx.commit().await.unwrap();
    }
    let (mut training_imports, mut ack_imports) = (HashMap::new(), HashMap::new());
    for p in PRINCIPALS {
        for (kind, ids) in [("training", &mut training_imports), ("acknowledgements", &mut ack_imports)] {
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO imports (id, org_id, kind, created_by, created_at, filename, file_sha256, rows, problems)
                 VALUES ($1, $2, $3, $4, now(), 'file.csv', '\\x00', '[]', '[]')",
            )
            .bind(id)
            .bind(org)
            .bind(kind)
            .bind(owner)
            .execute(app.db())
            .await
            .unwrap();
            ids.insert(p, id);
        }
    }
    let meeting = app.meeting(org, "Management review", appointer, "2026-10-01", "Minutes.").await;
    let action = app.action_item(org, meeting, "Follow up", Some(holder), Some("2026-12-01")).await;
    let signed_meeting = app.meeting(org, "Signed review", appointer, "2026-09-01", "Minutes.").await;
    app.sign_meeting(org, signed_meeting, "Chief Executive").await;
    let (scan, _) = app.evidence(org, "Signed minutes (scan)", "minutes.pdf", PDF).await;
    let (mut sign_meetings, mut paper_meetings, mut answer_asks) = (HashMap::new(), HashMap::new(), HashMap::new());
    for p in PRINCIPALS {
        sign_meetings.insert(p, app.meeting(org, &format!("Review {p:?}"), appointer, "2026-10-01", "Minutes.").await);
        let paper_meeting = app.meeting(org, &format!("Paper review {p:?}"), appointer, "2026-10-01", "Minutes.").await;
        app.link_to_meeting(org, scan, paper_meeting).await;
        paper_meetings.insert(p, paper_meeting);
        answer_asks.insert(p, app.ask(org, appointer, &format!("Ask {p:?}"), Some("2026-11-30")).await);
    }
    let decision = app.decision(org, "Security budget", Some(appointer), Some("2026-09-01")).await;
    let communication = app.communication(org, "Why security matters", appointer, "2026-09-15").await;
    let objective = app.objective(org, "Train everyone", Some(holder)).await;
    let ask = app.ask(org, appointer, "Approve the audit budget", None).await;
    let mut tx = app.db().begin().await.unwrap();
    let asker = mandate::audit::Actor { org_id: Some(org), user_id: Some(owner.into()), label: "test".into(), request_id: "test".into() };
    let req_51a = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)");
    let request = mandate::requests::model::raise(&mut tx, &asker, app.state.clock.now(), org, req_51a, "Show me the strategy paper").await.unwrap();
    let bundle = mandate::bundles::jobs::enqueue(&mut tx, &asker, app.state.clock.now(), org, &mandate::bundles::manifest::Params { as_of: "2026-11-02".parse().unwrap(), period_from: None, period_to: None }).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(mandate::bundles::jobs::run_next(&app.state, "matrix").await.unwrap(), Some(bundle));
    mandate::findings::sync_org(&app.state, org).await.unwrap();
    let findings: Vec<Uuid> = mandate::findings::model::list(app.db(), org).await.unwrap().iter().filter(|f| f.is_open()).take(2).map(|f| f.id.0).collect();
    assert_eq!(findings.len(), 2, "the tenant has open findings");
    let mut tx = app.db().begin().await.unwrap();
    mandate::notify::model::ensure_settings(&mut tx, org, app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    let unsubscribe = mandate::notify::model::settings(app.db(), org, mandate::ids::UserId(owner), Role::Owner).await.unwrap().unsubscribe_token;
    let api_token = {
        let membership: Uuid = sqlx::query_scalar("SELECT id FROM memberships WHERE user_id = $1 AND org_id = $2").bind(owner).bind(org).fetch_one(app.db()).await.unwrap();
        let holder = mandate::api::tokens::Holder { org_id: org, membership_id: mandate::ids::MembershipId(membership), user_id: mandate::ids::UserId(owner) };
        let t = mandate::api::tokens::NewToken { name: "HR sync".into(), scopes: vec![policy::Scope::WritePeople], days: 30, integration: true };
        let mut tx = app.db().begin().await.unwrap();
        let (id, _) = mandate::api::tokens::create(&mut tx, &app.system(org), app.state.clock.now(), holder, &t).await.unwrap();
        tx.commit().await.unwrap();
        id.0
    };
    Tenant {
        today: app.state.clock.now().date_naive().to_string(),
        api_token,
        unsubscribe,
        findings,
        roster_candidate,
        roster_changes,
        meeting,
        signed_meeting,
        sign_meetings,
        paper_meetings,
        action,
        decision,
        communication,
        objective,
        ask,
        answer_asks,
        request: request.0,
        bundle: bundle.0,
        module,
        training_campaign,
        training_token,
        training_imports,
        ack_imports,
        policy,
        draft,
        sign_drafts,
        paper_drafts,
        signed,
        campaign,
        ack_token,
        public_slug,
        evidence,
        revision,
        org,
        target_member,
        auditor_member,
        invitations,
        token,
        person,
        person_email,
        imports,
        role,
        retire_roles,
        withdraw_policies,
        retire_modules,
        appointer,
        appointees,
        confirm_appointment,
        accept_appointment,
        holder,
        link_appointment,
        end_appointments,
        paper_appointments,
        role_token,
        activities,
    }
}

async fn world(db: PgPool) -> World {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@a.example", "A Owner").await;
    let a = tenant(&app, "a", owner).await;
    let b_owner = app.user("owner@b.example", "B Owner").await;
    let b = tenant(&app, "b", b_owner).await;
    let mut users = HashMap::new();
    users.insert(P::Owner, (owner, Some(a.org)));
    for (p, role) in [(P::IsmsLead, Role::IsmsLead), (P::Executive, Role::Executive), (P::Contributor, Role::Contributor), (P::Auditor, Role::Auditor)] {
        let u = app.user(&format!("{}@a.example", role.as_str()), role.label()).await;
        app.member(a.org, u, role).await;
        users.insert(p, (u, Some(a.org)));
    }
    // The executive is A's appointer in the directory; the contributor holds a role there.
    app.link(a.org, a.appointer, users[&P::Executive].0).await;
    app.link(a.org, a.holder, users[&P::Contributor].0).await;
    users.insert(P::OtherOwner, (b_owner, Some(b.org)));
    let disabled = app.user("disabled@a.example", "Disabled").await;
    let m = app.member(a.org, disabled, Role::IsmsLead).await;
    sqlx::query("UPDATE memberships SET disabled_at = now() WHERE id = $1").bind(m).execute(app.db()).await.unwrap();
    users.insert(P::Disabled, (disabled, Some(a.org)));
    // A's executive, acting for the CEO, accepted A's second finding as a risk.
    {
        use mandate::findings::model as findings;
        let exec = mandate::ids::UserId(users[&P::Executive].0);
        let f = findings::get(app.db(), a.org, mandate::ids::FindingId(a.findings[1])).await.unwrap();
        let actor = mandate::audit::Actor { org_id: Some(a.org), user_id: Some(exec), label: "exec".into(), request_id: "test".into() };
        let until = app.state.clock.now().date_naive() + chrono::Duration::days(30);
        let mut tx = app.db().begin().await.unwrap();
        findings::accept(&mut tx, &actor, app.state.clock.now(), a.org, &f, (exec, "Chief Executive"), &findings::Acceptance { reason: "Budget next year".into(), until }).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tokens = HashMap::new();
    for (p, (user, org)) in &users {
        tokens.insert(*p, app.api_token(*user, org.unwrap(), &policy::Scope::ALL).await);
    }
    World { app, users, tokens, a, b }
}

impl World {
    /// A fresh session per request, so sign-outs and switches do not leak into the next case.
    async fn client(&self, p: P, path: &str) -> Client {
        if path.starts_with("/api/") {
            return match self.tokens.get(&p) {
                Some(token) => self.app.api_client(token),
                None => self.app.client(),
            };
        }
        match self.users.get(&p) {
            Some((user, org)) => self.app.signed_in(*user, *org).await,
            None => self.app.client(),
        }
    }

    fn ids(&self, p: P, other: bool) -> &Tenant {
        let own_is_b = p == P::OtherOwner;
        if own_is_b != other { &self.b } else { &self.a }
    }
}

fn fill(path: &str, t: &Tenant, p: P) -> String {
    let id = match path {
        _ if path.starts_with("/invitations/") => t.invitations[&p],
        _ if path.starts_with("/account/tokens/") => t.api_token,
        _ if path.starts_with("/api/v1/requirements/") => mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)").0,
        _ if path.starts_with("/api/v1/meetings/") => t.meeting,
        _ if path.starts_with("/api/v1/findings/") => t.findings[0],
        _ if path.starts_with("/api/v1/policies/") => t.policy,
        "/api/v1/evidence/files/{id}" => t.revision,
        "/api/v1/evidence/{id}/revisions" => t.evidence,
        _ if path.starts_with("/api/v1/evidence/") => t.evidence,
        _ if path.starts_with("/api/v1/people/") => t.person,
        _ if path.starts_with("/requirements/") => mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)").0,
        _ if path.starts_with("/people/import/") => t.imports[&p],
        "/people/roster/{id}/confirm" => t.roster_changes[&("confirm", p)],
        "/people/roster/{id}/refuse" => t.roster_changes[&("refuse", p)],
        "/people/roster/{id}/withdraw" => t.roster_changes[&("withdraw", p)],
        _ if path.starts_with("/people/") => t.person,
        "/roles/{id}/retire" => t.retire_roles[&p],
        "/policies/{id}/withdraw" => t.withdraw_policies[&p],
        "/training/modules/{id}/retire" => t.retire_modules[&p],
        _ if path.starts_with("/roles/") => t.role,
        "/appointments/{id}/confirm" => t.confirm_appointment,
        "/appointments/{id}/accept" | "/appointments/{id}/hats" => t.accept_appointment,
        "/appointments/{id}/link" => t.link_appointment,
        "/appointments/{id}/end" => t.end_appointments[&p],
        "/appointments/{id}/paper-confirmation" | "/appointments/{id}/paper-acceptance" => t.paper_appointments[&p],
        _ if path.starts_with("/raci/activities/") => t.activities[&p],
        "/evidence/files/{id}" => t.revision,
        "/policies/versions/{id}" => t.draft,
        "/policies/versions/{id}/sign" => t.sign_drafts[&p],
        "/policies/versions/{id}/paper" => t.paper_drafts[&p],
        _ if path.starts_with("/policies/versions/") => t.signed,
        _ if path.starts_with("/policies/") => t.policy,
        _ if path.starts_with("/campaigns/") => t.campaign,
        _ if path.starts_with("/training/campaigns/") => t.training_campaign,
        _ if path.starts_with("/training/import/") => t.training_imports[&p],
        _ if path.starts_with("/acknowledgements/import/") => t.ack_imports[&p],
        _ if path.starts_with("/training/modules/") => t.module,
        _ if path.starts_with("/evidence/") => t.evidence,
        "/meetings/{id}/sign-off" => t.sign_meetings[&p],
        "/meetings/{id}/paper" => t.paper_meetings[&p],
        "/meetings/{id}/addenda" => t.signed_meeting,
        _ if path.starts_with("/meetings/") => t.meeting,
        _ if path.starts_with("/actions/") => t.action,
        _ if path.starts_with("/decisions/") => t.decision,
        _ if path.starts_with("/communications/") => t.communication,
        _ if path.starts_with("/objectives/") => t.objective,
        "/asks/{id}/respond" => t.answer_asks[&p],
        "/findings/{id}/end-acceptance" => t.findings[1],
        _ if path.starts_with("/findings/") => t.findings[0],
        _ if path.starts_with("/asks/") => t.ask,
        "/members/{id}/window" => t.auditor_member,
        _ if path.starts_with("/evidence-requests/") => t.request,
        _ if path.starts_with("/bundles/") => t.bundle,
        _ => t.target_member,
    };
    let token = match path {
        _ if path.starts_with("/accept-role/") => &t.role_token,
        _ if path.starts_with("/ack/") => &t.ack_token,
        _ if path.starts_with("/training-link/") => &t.training_token,
        _ if path.starts_with("/unsubscribe/") => &t.unsubscribe,
        _ => &t.token,
    };
    path.replace("{file}", "app.css").replace("{token}", token).replace("{slug}", &t.public_slug).replace("{id}", &id.to_string())
}

/// The JSON an API write sends.
fn api_body(path: &str, t: &Tenant, p: P) -> serde_json::Value {
    let who = format!("{p:?}").to_lowercase();
    match path {
        "/api/v1/people" => serde_json::json!({"name": format!("API {p:?}"), "email": format!("api-{who}@example.com")}),
        "/api/v1/people/sync" => serde_json::json!({"people": [{"name": format!("Synced {p:?}"), "email": format!("sync-{who}@example.com"), "external_id": format!("hr-{who}")}]}),
        "/api/v1/people/{id}" => serde_json::json!({"department": format!("{p:?}"), "email": t.person_email}),
        "/api/v1/training/records/sync" => serde_json::json!({"records": [{"external_id": format!("lms-{who}"), "email": t.person_email, "module": "Security awareness", "completed_on": format!("2026-10-0{}", PRINCIPALS.iter().position(|q| *q == p).unwrap_or(0) + 1)}]}),
        "/api/v1/acknowledgements" => serde_json::json!({"acknowledgements": [{"email": t.person_email, "policy": "Information security policy", "acknowledged_on": t.today, "how": "lms"}]}),
        "/api/v1/findings/{id}" => serde_json::json!({"cause": format!("Found by {p:?}")}),
        _ => serde_json::json!({}),
    }
}

fn form_for(path: &str, t: &Tenant, p: P) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match path {
        "/login" => vec![("email", format!("nobody-{p:?}@example.com")), ("password", "wrong password here".into())],
        "/account/password" => vec![("current", "wrong".into()), ("new_password", "x".into()), ("confirm", "x".into())],
        "/orgs" => vec![("name", format!("New org by {p:?}"))],
        "/orgs/switch" => vec![("org_id", t.org.to_string())],
        "/members/invite" => vec![("email", format!("invitee-{p:?}@example.com").to_lowercase()), ("role", "contributor".into())],
        "/members/{id}/role" => vec![("role", "contributor".into())],
        "/settings/grading" => vec![("widespread_percent", "40".into()), ("ack_grace_days", "30".into()), ("minutes_grace_days", "30".into()), ("onboarding_grace_days", "3".into()), ("repeated_from", "3".into())],
        "/settings/sign-in" => vec![("step_up_minutes", "10".into())],
        "/account/tokens" => vec![("name", format!("Token of {p:?}")), ("scopes", "read".into()), ("days", "30".into())],
        "/members/{id}/window" => vec![("access_from", "2026-01-01".into()), ("access_until", "2099-12-31".into())],
        "/requirements/{id}" => vec![("applicable", "yes".into()), ("status", "in_progress".into()), ("notes", format!("by {p:?}"))],
        "/people" => vec![("name", format!("New {p:?}")), ("email", format!("new-{p:?}@example.com").to_lowercase()), ("kind", "employee".into())],
        "/people/{id}" => vec![("name", "Target Person".into()), ("email", t.person_email.clone()), ("kind", "employee".into()), ("department", format!("{p:?}"))],
        "/people/{id}/leaver" => vec![("end_date", "2027-12-31".into())],
        "/people/roster" => vec![("person_id", t.roster_candidate.to_string()), ("change", "add".into())],
        "/roles" => vec![("name", format!("Role by {p:?}")), ("authorities", "Some".into())],
        "/roles/{id}" => vec![("name", "Shared role".into()), ("responsibilities", format!("by {p:?}")), ("conformance", "on".into())],
        "/roles/{id}/appointments" => vec![
            ("person_id", t.appointees[&p].to_string()),
            ("appointed_by", t.appointer.to_string()),
            ("appointed_on", "2026-11-01".into()),
            ("capacity", "holder".into()),
        ],
        "/appointments/{id}/end" => vec![("ended_on", "2026-11-02".into()), ("reason", "test".into())],
        "/appointments/{id}/paper-confirmation" | "/appointments/{id}/paper-acceptance" => vec![("signed_on", "2026-11-02".into())],
        "/appointments/{id}/hats" => vec![("note", format!("by {p:?}"))],
        "/raci/activities" => vec![("name", format!("New activity by {p:?}"))],
        "/evidence/{id}" => vec![("title", "Signed policy".into()), ("kind", "document".into()), ("description", format!("by {p:?}"))],
        "/policies" => vec![("title", format!("Policy by {p:?}")), ("kind", "topic_specific".into()), ("review_months", "12".into()), ("audience", "all_staff".into())],
        "/policies/{id}" => vec![("title", "Information security policy".into()), ("kind", "is_policy".into()), ("review_months", "12".into()), ("audience", "all_staff".into()), ("public", "on".into())],
        "/policies/versions/{id}" => vec![("change_summary", format!("by {p:?}")), ("body_markdown", "# Draft\n\nText.".into())],
        "/policies/versions/{id}/paper" => vec![("approved_on", "2026-10-01".into()), ("approver_id", t.appointer.to_string())],
        "/meetings/{id}/paper" => vec![("signed_on", "2026-10-05".into())],
        "/policies/versions/{id}/sign" => {
            vec![("password", crate::support::PASSWORD.into()), ("document_sha", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PDF)))]
        }
        "/training/modules" => vec![("title", format!("Module by {p:?}")), ("kind", "awareness".into()), ("validity_months", "12".into()), ("audience", "all_staff".into())],
        "/training/modules/{id}" => vec![("title", "Security awareness".into()), ("kind", "awareness".into()), ("validity_months", "12".into()), ("audience", "all_staff".into())],
        "/training/modules/{id}/records" => vec![("person_id", t.person.to_string()), ("completed_on", "2026-10-01".into())],
        "/meetings" | "/meetings/{id}" => vec![("kind", "management_review".into()), ("title", format!("Review by {p:?}")), ("held_on", "2026-10-01".into()), ("chair_id", t.appointer.to_string())],
        "/meetings/cadence" => vec![("months", "3".into())],
        "/meetings/{id}/addenda" | "/policies/versions/{id}/addenda" => vec![("addendum", format!("Correction by {p:?}"))],
        "/meetings/{id}/actions" => vec![("action_title", format!("Action by {p:?}")), ("due_on", "2026-12-01".into())],
        "/actions/{id}" => vec![("action_title", format!("Follow up by {p:?}")), ("status", "open".into())],
        "/decisions" | "/decisions/{id}" => vec![("title", format!("Budget by {p:?}")), ("what", "budget".into()), ("decision", "pending".into())],
        "/communications" | "/communications/{id}" => {
            vec![("subject", format!("Talk by {p:?}")), ("sent_on", "2026-10-01".into()), ("from_id", t.appointer.to_string()), ("channel", "email".into())]
        }
        "/objectives" | "/objectives/{id}" => vec![("title", format!("Objective by {p:?}")), ("status", "planned".into())],
        "/asks" | "/asks/{id}" => vec![("asked_of", t.appointer.to_string()), ("what", format!("Ask by {p:?}")), ("asked_on", "2026-10-01".into())],
        "/asks/{id}/respond" => vec![("answer", format!("Yes, from {p:?}"))],
        "/findings/{id}" => vec![("cause", format!("Found by {p:?}")), ("action_taken", "Appointed a holder.".into())],
        "/settings/notifications" => vec![("digest", "weekly".into()), ("reminders", "on".into())],
        "/findings/{id}/accept" => vec![("reason", format!("Accepted by {p:?}")), ("until", "2026-12-01".into())],
        "/evidence-requests" => vec![
            ("requirement_id", mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)").to_string()),
            ("question", format!("Show me, {p:?}")),
        ],
        "/evidence-requests/{id}/answer" => vec![("answer", format!("Here, from {p:?}"))],
        "/bundles" => vec![("as_of", "2026-11-02".into())],
        "/evidence-requests/{id}/link" => vec![("item_id", t.evidence.to_string())],
        "/evidence/{id}/links" | "/evidence/{id}/links/remove" => {
            vec![("target", format!("requirement:{}", mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.2(a)")))]
        }
        _ => vec![],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn matches(expected: &str, status: u16, location: &str) -> bool {
    match expected {
        "login" => status == 303 && location.starts_with("/login"),
        "orgs" => status == 303 && location == "/orgs",
        code => code.parse::<u16>().ok() == Some(status),
    }
}

/// The access each route declares (`web::routes`) against the answers the
/// table expects, so a route cannot claim less than it enforces or the
/// table drift from what the routes declare:
/// - a route that needs a session sends the signed-out visitor to sign in,
///   and a public one does not (sign-out aside: it always ends at the sign-in page);
/// - a route that needs an organisation sends a disabled member to the chooser;
/// - a route declared `Can(action)` answers 403 to every role of the
///   organisation that the action's role table leaves out.
#[test]
fn every_route_declares_the_access_the_table_expects() {
    let contradictions = declared_access_contradictions();
    assert!(contradictions.is_empty(), "routes whose declared access contradicts the table:\n{}", contradictions.join("\n"));
}

fn declared_access_contradictions() -> Vec<String> {
    let column = |p: P| PRINCIPALS.iter().position(|q| *q == p).unwrap();
    let roles = [(P::Owner, Role::Owner), (P::IsmsLead, Role::IsmsLead), (P::Executive, Role::Executive), (P::Contributor, Role::Contributor), (P::Auditor, Role::Auditor)];
    let mut out = Vec::new();
    for (method, path, access) in mandate::app::route_list() {
        let Some((_, _, own, _)) = TABLE.iter().find(|(m, p, _, _)| *m == method.as_str() && *p == path) else { continue };
        let route = format!("{method} {path} ({access:?})");
        let anon = own[column(P::Anon)];
        let disabled = own[column(P::Disabled)];
        match access {
            Access::Public => {
                if anon == "login" && !(method == "POST" && path == "/logout") {
                    out.push(format!("{route}: public, yet the table sends the signed-out visitor to sign in"));
                }
            }
            Access::Token(..) => {
                if anon != "401" || disabled != "401" {
                    out.push(format!("{route}: needs a token, yet the table expects {anon} without one and {disabled} for a disabled member's"));
                }
            }
            Access::SignedIn | Access::Member | Access::Can(_) => {
                if anon != "login" {
                    out.push(format!("{route}: needs a session, yet the table expects {anon} signed out"));
                }
            }
        }
        if matches!(access, Access::Member | Access::Can(_)) && disabled != "orgs" {
            out.push(format!("{route}: needs an organisation, yet the table expects {disabled} for a disabled member"));
        }
        if let Access::Can(action) | Access::Token(action, _) = access {
            for (p, role) in roles {
                let got = own[column(p)];
                if !policy::allows(role, action) && got != "403" {
                    out.push(format!("{route}: {role:?} may not {action:?}, yet the table expects {got}"));
                }
            }
        }
    }
    out
}

#[sqlx::test]
async fn every_route_role_and_tenant_gets_the_expected_answer(db: PgPool) {
    let served: BTreeSet<(String, String)> =
        mandate::app::route_list().into_iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let tabled: BTreeSet<(String, String)> = TABLE.iter().map(|(m, p, _, _)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = served.difference(&tabled).collect();
    let stale: Vec<_> = tabled.difference(&served).collect();
    assert!(missing.is_empty(), "routes without an access-matrix row: {missing:?}");
    assert!(stale.is_empty(), "access-matrix rows for routes that do not exist: {stale:?}");

    let w = world(db).await;
    let mut mismatches = Vec::new();
    let mut checked = 0;
    // Besides own and other tenants' ids: ids that name nothing, well-formed
    // or not, must answer exactly as another tenant's id does.
    const NOT_IDS: [&str; 4] = ["not-an-id", "1%27%20OR%201%3D1", "00000000-0000-0000-0000-00000000000g", "00000000-0000-4000-8000-000000000000"];
    for (method, path, own, other) in TABLE {
        let mut dimensions: Vec<(&str, bool, Option<&[&str; 8]>)> = vec![("own tenant", false, Some(own)), ("other tenant", true, other.as_ref())];
        if path.contains("{id}") && other.is_some() {
            dimensions.extend(NOT_IDS.iter().map(|bad| (*bad, false, other.as_ref())));
        }
        for (dimension_name, dimension, expected) in dimensions {
            let Some(expected) = expected else { continue };
            for (i, p) in PRINCIPALS.iter().enumerate() {
                let t = w.ids(*p, dimension);
                let mut url = fill(path, t, *p);
                if NOT_IDS.contains(&dimension_name) {
                    url = path.replace("{id}", dimension_name);
                }
                let mut c = w.client(*p, path).await;
                let res = if *method == "GET" {
                    c.get(&url).await
                } else if *path == "/api/v1/evidence/{id}/revisions" {
                    c.multipart(&url, &[], Some(("file", "policy-v2.pdf", "application/pdf", PDF))).await
                } else if *path == "/api/v1/evidence" {
                    let fields = [("title", "Uploaded through the API"), ("kind", "document")];
                    c.multipart(&url, &fields, Some(("file", "policy.pdf", "application/pdf", PDF))).await
                } else if path.starts_with("/api/") {
                    let m = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
                    c.send(m, &url, Some("application/json"), api_body(path, t, *p).to_string().into_bytes()).await
                } else if *path == "/evidence" {
                    let fields = [("title", "Uploaded"), ("kind", "document")];
                    c.multipart(&url, &fields, Some(("file", "policy.pdf", "application/pdf", PDF))).await
                } else if *path == "/policies/{id}/versions" {
                    let fields = [("bump", "minor"), ("source", "markdown"), ("change_summary", "New"), ("body_markdown", "# New\n\nText.")];
                    c.multipart(&url, &fields, None).await
                } else if *path == "/evidence/{id}/revisions" {
                    c.upload(&url, "file", "policy-v2.pdf", "application/pdf", PDF).await
                } else if *path == "/training/import" {
                    c.upload(&url, "file", "training.csv", "text/csv", b"email,module,completed_on\nperson@a.example,Security awareness,2026-10-01\n").await
                } else if *path == "/acknowledgements/import" {
                    c.upload(&url, "file", "acks.csv", "text/csv", b"email,policy,acknowledged_on\nperson@a.example,Information security policy,2026-10-01\n").await
                } else if *path == "/settings/logo" {
                    c.upload(&url, "file", "logo.png", "image/png", crate::support::PNG).await
                } else if *path == "/people/import" {
                    let csv = format!("name,email\nUploaded,uploaded-{p:?}@example.com\n");
                    c.upload(&url, "file", "people.csv", "text/csv", csv.as_bytes()).await
                } else {
                    let form = form_for(path, t, *p);
                    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    c.post(&url, &fields).await
                };
                checked += 1;
                if !matches(expected[i], res.status.as_u16(), res.location()) {
                    mismatches.push(format!(
                        "{method} {path} as {p:?} ({dimension_name}): expected {}, got {} {}",
                        expected[i],
                        res.status.as_u16(),
                        res.location()
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches of {checked}:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(checked > 200);
}
