// Errors that bitnpu reports to the user. A CLI catches UserError, prints
// what() and exits with code 2; anything else is a bug.
#pragma once

#include <stdexcept>
#include <string>

namespace bitnpu {

class UserError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace bitnpu
