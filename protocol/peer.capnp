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
  }
}

struct Hello {
  protocolVersion @0 :UInt32; # 1
  nodeName @1 :Text;
  country @2 :Text;           # ISO 3166-1 alpha-2
  # The highest sequence number of the *receiver's* log (the peer we say
  # Hello to) that we have committed: the peer resumes after it.
  ackedSeq @3 :UInt64;
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
}

struct Ack {
  upToSeq @0 :UInt64;         # every sender seq <= this is committed
}

struct PeerError {
  code @0 :UInt16;
  message @1 :Text;
}
