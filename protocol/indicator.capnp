@0x8fc4c2b09bbf81c0;
# The signed unit of caravan: one revision of one indicator (RecordBody),
# and a record = body bytes + the origin's signature, single or as a proof of
# inclusion in a Merkle batch (crypto/merkle.h).
#
# Canonical bytes of a body are the single-segment, packed=false Cap'n Proto
# encoding of a canonicalized message (capnp::canonicalize), produced by
# protocol/record_codec.h. Signatures cover those bytes, so field numbers and
# enum ordinals here must never change.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("caravan::protocol::wire");

enum IndicatorType {
  ipv4 @0; ipv6 @1; domain @2; url @3; email @4;
  md5 @5; sha1 @6; sha256 @7; cve @8; asn @9;
}

enum Tlp { clear @0; green @1; amber @2; amberStrict @3; red @4; }

enum Reshare { none @0; direct @1; federation @2; }

struct Indicator {
  type @0 :IndicatorType;
  value @1 :Text;
  tlp @2 :Tlp;
  confidence @3 :UInt8;
  tags @4 :List(Text);        # sorted, unique
  description @5 :Text;
  firstSeen @6 :Int64;        # Unix seconds, 0 = unset
  lastSeen @7 :Int64;
  validUntil @8 :Int64;
  reshare @9 :Reshare;
  revoked @10 :Bool;
  revokeReason @11 :Text;
}

struct RecordBody {
  origin @0 :Data;            # 32-byte Ed25519 identity key of the origin
  originSeq @1 :UInt64;
  revision @2 :UInt32;
  created @3 :Int64;
  variant @4 :UInt32;         # 0 full; else a redacted variant by the origin
  indicator @5 :Indicator;
  # Milliseconds within `created` (0..999). Added later: 0 encodes exactly
  # as a body without the field (canonical form drops the zero data word),
  # so every older record keeps its bytes, id and signature.
  createdMillis @6 :UInt16;
}

struct BatchProof {
  salt @0 :Data;              # 32 random bytes mixed into this leaf
  leafIndex @1 :UInt64;
  treeSize @2 :UInt64;
  path @3 :List(Data);        # sibling hashes, leaf to root (RFC 9162)
  rootSignature @4 :Data;     # 64 bytes over the batch root
}

struct SignedRecord {
  body @0 :Data;              # canonical RecordBody bytes
  union {
    single @1 :Data;          # 64-byte Ed25519 signature over the body
    batch @2 :BatchProof;
  }
}
