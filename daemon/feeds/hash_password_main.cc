// caravan-taxii-passwd: reads a password from stdin (first line) and prints
// its crypto_pwhash_str hash for the TAXII accounts file. The password never
// appears on a command line.
#include <sodium.h>

#include <iostream>
#include <string>

#include "daemon/feeds/taxii_accounts.h"

int main() {
  if (sodium_init() < 0) return 1;
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::cerr << "caravan-taxii-passwd: give the password on stdin\n";
    return 2;
  }
  auto hash = caravan::feeds::HashTaxiiPassword(password);
  sodium_memzero(password.data(), password.size());
  if (!hash.ok()) {
    std::cerr << "caravan-taxii-passwd: " << hash.status().message() << "\n";
    return 1;
  }
  std::cout << *hash << "\n";
  return 0;
}
