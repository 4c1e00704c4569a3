#pragma once
// SQL that takes a store back to schema version 6 (unacked_pages, issue 14),
// for the tests that then roll it further back and check an older
// migration. Every migration after 6 undoes itself here, so a new one is
// added in one place.

namespace caravan::store::testing {

inline constexpr const char* kRollBackToSchema6 =
    // Forward secrecy: what a sealed batch needs to be sealed again.
    "ALTER TABLE sealed_outbox DROP COLUMN reseal;"
    // Hub accountability: chains and outbox.
    "DROP TABLE sealed_chain_in;"
    "DROP TABLE sealed_chain_out;"
    "DROP TABLE sealed_outbox;"
    // TAXII: the STIX ids clients posted.
    "DROP TABLE stix_ids;"
    // caravan audit --action / --id.
    "DROP INDEX audit_action;"
    "DROP INDEX audit_subject;"
    // Link key rotation: highest link serial per member.
    "DROP TABLE link_serials;"
    // Identity key rotation: the rotation statements held.
    "DROP TABLE identity_rotations;"
    // Member trust (issue 16): departed and compromised members.
    "DROP TABLE compromise_notices;"
    "DROP TABLE compromised_keys;"
    "DROP TABLE departed_members;"
    // The hub's prekey book.
    "DROP TABLE hub_prekey_book;"
    // Compromise notices waiting for offline peers (migration 16).
    "DROP TABLE pending_notices;"
    "DELETE FROM schema_version WHERE version > 6;";

}  // namespace caravan::store::testing
