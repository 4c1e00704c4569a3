@0x9d637466fe3fb068;
# Application messages on a Noise link between two caravand nodes
# (DESIGN.md, Links and Sync). Each message is one Cap'n Proto message in
# flat-array form, split across Noise transport messages when larger than
# one; readers apply strict ReaderOptions limits.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("caravan::protocol::wire");
using Rec = import "indicator.capnp";

struct PeerMessage {
  union {
    hello @0 :Hello;
    records @1 :Records;
    ack @2 :Ack;
    ping @3 :UInt64;          # nonce, echoed by pong
    pong @4 :UInt64;
    error @5 :PeerError;
    bye @6 :Text;             # reason
    sealed @7 :Sealed;        # hub mode: a sealed batch (docs/federation.md)
    sealedAck @8 :SealedAck;
    prekey @9 :PrekeyStatement;  # forward secrecy (docs/federation.md)
    compromiseNotice @10 :CompromiseNotice;  # issue 16 (docs/federation.md)
    # An identity key rotation statement, the 209 bytes of
    # crypto/identity_rotation.h (docs/federation.md, Identity key rotation).
    identityRotation @11 :Data;
  }
}

struct Hello {
  protocolVersion @0 :UInt32; # 1
  nodeName @1 :Text;
  country @2 :Text;           # ISO 3166-1 alpha-2
  # The highest sequence number of the *receiver's* log (the peer we say
  # Hello to) that we have committed: the peer resumes after it.
  ackedSeq @3 :UInt64;
  # Codecs the sender accepts for compressed application messages
  # (docs/wire.md 4.3): "zstd". Absent or empty (older nodes, or
  # `[links] compression = "off"`): send it nothing compressed.
  compression @4 :List(Text);
  # The sender of this Hello accepts Records.batches (whole batches). A
  # peer that does not set it gets every record with its own proof.
  wholeBatches @5 :Bool;
}

struct Records {
  # Records in the sender's log order; each carries the sender's log
  # sequence number so the receiver can acknowledge precisely.
  entries @0 :List(Entry);
  struct Entry {
    senderSeq @0 :UInt64;
    record @1 :Rec.SignedRecord;
  }
  # The highest sender log sequence this message decides (sent or withheld),
  # so a receiver can acknowledge past records it will never see.
  upToSeq @1 :UInt64;
  # Records their origin signed together, sent whole (docs/wire.md, "Whole
  # batches"): only to a peer whose Hello set wholeBatches. The receiver
  # merges them with `entries` in senderSeq order.
  batches @2 :List(WholeBatch);
}

# One Merkle batch (crypto/merkle.h) with every leaf: the receiver rebuilds
# the tree from the leaves and the salt seed, verifies the one root
# signature, and stores each record with the proof the tree gives it.
struct WholeBatch {
  origin @0 :Data;            # 32-byte Ed25519 key that signed the root
  # 32 bytes; leaf i's salt is BLAKE2b-256(key = saltSeed,
  # "caravan/1 merkle salt\0" || u64be(i)).
  saltSeed @1 :Data;
  rootSignature @2 :Data;     # 64 bytes, over (leaf count, root)
  leaves @3 :List(Leaf);      # in tree order; at least one
  struct Leaf {
    senderSeq @0 :UInt64;
    body @1 :Data;            # canonical RecordBody bytes
  }
}

struct Ack {
  upToSeq @0 :UInt64;         # every sender seq <= this is committed
}

struct PeerError {
  code @0 :UInt16;
  message @1 :Text;
}

# ---- Hub mode (DESIGN.md, Hub mode; docs/federation.md, docs/wire.md) ----
# A sender whose roster says a member is reached `via` a hub seals what
# would have been a Records message to that member and gives it to the hub.
# The hub stores and forwards it; it can read the header but not the body.

struct Sealed {
  # A crypto/seal.h envelope whose header bytes are a SealedHeader message
  # (flat-array form) and whose plaintext is a Records message (flat-array
  # form, root Records) for the recipient: the origin signatures are inside.
  envelope @0 :Data;
  # Set by the hub when it forwards (its queue number for this recipient,
  # echoed in SealedAck.hubSeq); 0 from the sender.
  hubSeq @1 :UInt64;
}

struct SealedHeader {
  # Authenticated (the envelope's associated data) and readable by the hub.
  envelopeId @0 :Data;        # 16 random bytes
  senderName @1 :Text;
  senderKey @2 :Data;         # 32-byte Ed25519 identity key
  recipientKey @3 :Data;      # 32-byte Ed25519 identity key
  # The sender's log sequence numbers this batch decides for the recipient:
  # entries inside have firstSeq..upToSeq, nothing above upToSeq.
  firstSeq @4 :UInt64;
  upToSeq @5 :UInt64;
  # 2: the plaintext is the chained layout (docs/wire.md 4.1: SealedInner,
  # signature, batch, padding). 0 (absent): the first layout, refused.
  formatVersion @6 :UInt32;
  # Which of the recipient's keys the envelope is wrapped for: empty means
  # the X25519 form of its identity key (the only one today); a later
  # prekey scheme names its key here.
  recipientKeyId @7 :Data;
}

# Inside the ciphertext of a format 2 envelope (docs/wire.md 4.1): the hub
# never sees it.
struct SealedInner {
  # Batch: this envelope's number among those the sender sealed to this
  # recipient (1, 2, 3, ...); 0 in a receipt (receipts are not chained).
  pairSeq @0 :UInt64;
  # Batch: BLAKE2b-256 of the whole previous envelope the sender sealed to
  # this recipient (32 zero bytes before the first).
  prevHash @1 :Data;
  # Set: this envelope is the recipient's receipt back to the sender, and
  # no batch follows.
  receipt @2 :SealedReceipt;
  # h-hub (delay metric): when the sender sealed this envelope, Unix time in
  # milliseconds on the sender's clock; 0: not stated (an older sender).
  # Inside the signed ciphertext, so the hub can neither read nor change
  # it; the recipient measures sealing -> opening from it
  # (docs/federation.md "Delay").
  sealedAtMs @3 :Int64;
  # h-hub (chain restart): set, instead of a batch or a receipt, when the
  # sender can no longer produce batches the recipient asked for (its own
  # outbox row is unreadable or gone): pairSeq 0, nothing follows.
  restart @4 :SealedChainRestart;
  # h-hub3 (issue 16 through the hub): compromise notices the sender issued
  # for this recipient, carried by a batch (pairSeq >= 1; the batch may
  # hold no records), at most 8. The recipient applies each exactly as a
  # direct link's PeerMessage.compromiseNotice, before the batch's
  # records; the sender forgets them on the recipient's receipt of this
  # pairSeq (docs/federation.md "Compromise notices through a hub").
  notices @5 :List(CompromiseNotice);
}

struct SealedReceipt {
  # Every batch of the pair through this pairSeq is committed (or refused
  # for good); committedHash is the hash of that envelope as we got it.
  committedSeq @0 :UInt64;
  committedHash @1 :Data;
  # Non-zero: we are missing this pairSeq (a gap or reorder at the hub):
  # send every batch from it again.
  resendFrom @2 :UInt64;
  # Set when this receipt reports an envelope we refused: its id and why.
  refusedEnvelope @3 :Data;
  refusedReason @4 :Text;
}

struct SealedAck {
  # Hub -> sender: the envelope for recipientKey deciding the sender's log
  # through upToSeq is on the hub's disk (or was refused, refused != "").
  recipientKey @0 :Data;
  upToSeq @1 :UInt64;
  refused @2 :Text;
  # Recipient -> hub: every envelope the hub sent us with hubSeq <= this
  # one is committed (or was refused by us and will never be).
  hubSeq @3 :UInt64;
  # Hub -> sender: the id of the envelope queued (or refused).
  envelopeId @4 :Data;
}

# ---- Prekeys (docs/federation.md, "Prekeys"; docs/wire.md) ----
# A member's short-lived X25519 key, signed by its Ed25519 identity key.
# Senders seal batches to it (SealedHeader.recipientKeyId = u64be(prekeyId))
# so a copy kept by a hub stays closed once the prekey secret is erased,
# even if the identity key leaks later. Sent by its owner on every link
# when the link opens and when it rotates; a hub keeps the newest per
# member and passes it to every member.
struct PrekeyStatement {
  memberKey @0 :Data;       # 32-byte Ed25519 identity key of the owner
  prekeyId @1 :UInt64;      # grows with every rotation (1, 2, ...)
  prekeyPublic @2 :Data;    # 32-byte X25519 public key
  notBefore @3 :Int64;      # unix seconds
  notAfter @4 :Int64;       # unix seconds; notBefore < notAfter
  # Ed25519 by memberKey over "caravan/1 prekey\0" || memberKey ||
  # u64be(prekeyId) || prekeyPublic || i64be(notBefore) || i64be(notAfter).
  signature @5 :Data;
}

# ---- h-hub: hub accountability, signed chain restart (docs/federation.md
# "Chain restart"). Inside a sealed envelope (SealedInner.restart), signed
# by the sender with the rest of the plaintext.
struct SealedChainRestart {
  nextSeq @0 :UInt64;       # the pair seq of the sender's next batch (>= 2)
  prevHash @1 :Data;        # 32 bytes: what that batch's prevHash will be
  lostFrom @2 :UInt64;      # the first pair seq the sender cannot produce
                            # (1 <= lostFrom < nextSeq)
  reason @3 :Text;          # 1..512 bytes, for the recipient's audit
}

# ---- h-leave (issue 16): compromise notices ----

# A member's signed statement that an identity key must no longer be
# trusted for records created at or after `since` (docs/federation.md,
# "Compromise"). Sent to the peers that received such records from the
# issuer; each applies its [inbound] act_on_compromise_notices.
struct CompromiseNotice {
  issuerKey @0 :Data;       # 32-byte Ed25519 identity key of the issuer
  compromisedKey @1 :Data;  # 32-byte Ed25519 identity key distrusted
  since @2 :Int64;          # unix seconds: records created at or after
  issuedAt @3 :Int64;       # unix seconds
  # Ed25519 by issuerKey over "caravan/1 compromise notice\0" ||
  # issuerKey || compromisedKey || i64be(since) || i64be(issuedAt).
  signature @4 :Data;
}
