// caravan: the operator's CLI for caravand (tools/caravan_app.h).
#include "tools/caravan_app.h"

int main(int argc, char** argv) {
  return caravan::tools::CaravanMain(argc, argv);
}
