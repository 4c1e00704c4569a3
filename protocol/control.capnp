@0xe4af47fc2d9ed0cf;
# The control protocol between the `caravan` CLI and `caravand`, over the
# node's Unix socket. Framing (protocol/control_framing.h): a 4-byte
# little-endian length, then one Cap'n Proto message in flat-array form, at
# most kMaxControlFrameBytes. One Request gets exactly one Response, in
# order, on the same connection.
#
# Requests are typed. Read results come back as one JSON document (`json`):
# it is the same document `--json` prints, so the CLI and scripts see one
# stable shape and the daemon is the only place that builds it.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("caravan::protocol::wire");
using Rec = import "indicator.capnp";

struct Request {
  union {
    status @0 :Void;
    submit @1 :Submit;
    query @2 :Query;
    show @3 :Text;              # indicator id, hex (or a unique prefix)
    revoke @4 :Revoke;
    sight @5 :Sight;
    audit @6 :AuditQuery;
    auditVerify @7 :Void;
    export @8 :Query;           # the same filters as query, no limit
    policyReload @9 :Void;
    policyExplain @10 :Explain;
    peersList @11 :Void;
    peersAdd @12 :PeerAdd;
    peersRemove @13 :Text;      # name
    quarantineList @14 :Void;
    quarantineDecide @15 :QuarantineDecision;
    keyShow @16 :Void;
    report @18 :ReportQuery;    # `caravan report` (docs/report.md)
    keyRotate @19 :KeyRotate;   # caravan key rotate
    peersDepart @20 :PeerRemove;          # peers remove NAME [--purge] (h-leave)
    peersCompromised @21 :PeerCompromised;  # peers compromised NAME --since (h-leave)
    keyCompromised @22 :KeyCompromised;     # key compromised --since (h-ident2)
  }
  deadlineUnixMs @17 :Int64;    # when the client stops waiting, as Unix time
                                # in ms on the host's clock (client and daemon
                                # share it: the socket is local); 0: never.
                                # The daemon does not start a request whose
                                # deadline has passed (it answers RetryLater).
}

struct KeyRotate {
  link @0 :Bool;                # the link key; false: the identity key
}

struct KeyCompromised {
  since @0 :Int64;              # Unix seconds: our retired identity key is
                                # distrusted for records created at or after
  key @1 :Text;                 # which retired key: its fingerprint or key
                                # text; empty: the one retired last
}

struct Submission {
  # Raw user text; the daemon parses, refangs and normalizes it again, so a
  # CLI cannot make the daemon store a value its own parser would refuse.
  type @0 :Text;                # empty: detect from the value
  value @1 :Text;
  tlp @2 :Text;                 # empty: node default
  confidence @3 :Int16;         # -1: node default
  tags @4 :List(Text);
  description @5 :Text;
  validUntil @6 :Int64;         # Unix seconds, 0 = unset
  firstSeen @7 :Int64;
  lastSeen @8 :Int64;
  reshare @9 :Text;             # empty: node default
  line @10 :UInt64;             # source line, echoed in errors (bulk)
}

struct Submit {
  items @0 :List(Submission);   # at most kMaxSubmitBatch
  force @1 :Bool;               # store items that match a warninglist anyway
  replace @2 :Bool;             # a known value's new revision is the item
                                # itself, not merged into the current one
                                # (docs/policy.md, "Re-submitting a known
                                # value"); also revives a revoked one
}

struct SubmitResult {
  results @0 :List(Item);
  struct Item {
    line @0 :UInt64;
    union {
      stored @1 :Stored;
      error @2 :Text;
    }
    errorCode @3 :UInt8;        # with error: its caravan::StatusCode
                                # (invalidInput, denied: the item was
                                # refused; unavailable, internal...: the
                                # store failed). 0 from older daemons.
  }
  struct Stored {
    id @0 :Text;                # hex
    revision @1 :UInt32;
    unchanged @2 :Bool;         # identical to the current revision: no new one
    warninglist @3 :Text;       # name of the warninglist it matched; "": none
    warninglistEntry @4 :Text;  # the entry that matched
    forced @5 :Bool;            # matched, but stored with --force (shared)
    changes @6 :List(Text);     # a new revision of a known value: what it
                                # changed ("+tag x", "tlp green->amber");
                                # empty for revision 1 and when unchanged
  }
}

struct Query {
  value @0 :Text;               # may be defanged; empty: any
  type @1 :Text;
  origin @2 :Text;              # country code
  tag @3 :Text;
  since @4 :Int64;
  cidr @5 :Text;
  includeRevoked @6 :Bool;
  limit @7 :UInt32;             # 0: default
  maxTlp @8 :Text;              # export only
  after @9 :Text;               # keyset cursor from a previous page ("next")
  format @10 :Text;             # export only: "" = indicator JSON; "records":
                                # also signed_record (base64) and first_created
  includeRemoved @11 :Bool;     # export only: keep records of removed
                                # members (left out by default; issue 16)
}

struct Revoke {
  id @0 :Text;                  # 64 hex, or a unique prefix (>= 6 digits)
  reason @1 :Text;
  type @2 :Text;                # with value, instead of id: this node's
  value @3 :Text;               # indicator of that value (may be defanged)
}

struct Sight {
  target @0 :Text;              # value (may be defanged) or id
  note @1 :Text;
}

struct AuditQuery {
  # One page of the audit log, ascending by seq. The reply's "next" is the
  # afterSeq of the following page (null on the last page), so a client
  # reads a log of any length in bounded pieces.
  since @0 :Int64;
  peer @1 :Text;
  limit @2 :UInt32;             # entries in this page; 0: 1000; at most 10000
  afterSeq @3 :UInt64;          # only entries with seq > afterSeq
  until @4 :Int64;              # only entries at or before; 0: no bound
  action @5 :Text;              # only this action ("share", "revoke", ...)
  idPrefix @6 :Text;            # only subjects starting with these 6..64
                                # hex digits (an indicator id or prefix)
}

struct ReportQuery {
  # The sovereignty report of the record decisions audited in
  # [since, until] (Unix seconds, both inclusive), counted by the store.
  since @0 :Int64;
  until @1 :Int64;              # 0: now
}

struct Explain {
  direction @0 :Direction;
  country @1 :Text;
  indicator @2 :Submission;     # explained as if submitted now
  enum Direction { outbound @0; inbound @1; }
  id @3 :Text;                  # a stored indicator (64 hex) instead: its
                                # current revision, what each peer holds
}

struct PeerAdd {
  name @0 :Text;
  country @1 :Text;
  key @2 :Text;                 # caravan:... text form
  endpoint @3 :Text;            # host:port, may be empty
  via @4 :Text;                 # hub member name, may be empty (hub mode)
}

struct QuarantineDecision {
  id @0 :Text;                  # 64 hex, or a unique prefix (>= 6 digits)
  approve @1 :Bool;
  ids @2 :List(Text);           # more ids (or prefixes), decided together
  allFrom @3 :Text;             # instead of ids: everything held from this
                                # peer (at most kMaxQueryLimit per request)
}

struct Response {
  code @0 :UInt8;               # caravan::StatusCode
  message @1 :Text;             # human-readable; empty when ok
  union {
    none @2 :Void;
    json @3 :Text;
    submitResult @4 :SubmitResult;
  }
}

# ---- h-leave (issue 16): leaving and compromise ----

struct PeerRemove {
  name @0 :Text;
  purge @1 :Bool;               # also delete the member's records (audited
                                # with counts); default: keep them, signed
}

struct PeerCompromised {
  name @0 :Text;                # roster member whose identity key is distrusted
  since @1 :Int64;              # Unix seconds: records created at or after
}
