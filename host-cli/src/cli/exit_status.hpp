#pragma once

#include <string>

#include "client/endpoint.hpp"
#include "ktstats/error.hpp"

namespace ktstats::cli {

// Whether a server's error answer says the state will pass: ktstats serve
// answers so while its VM is unreachable (ENOTCONN, ECONNREFUSED,
// ECONNRESET, EHOSTUNREACH), slow or busy (ETIMEDOUT, EAGAIN, EBUSY,
// EUSERS).
bool answer_says_try_again(int errno_value);

// Exit statuses (sysexits.h): 0 success, 64 usage, 65 the scheduler
// rejected the request, 69 no scheduler (or no relay) available, 74 I/O or
// connection error, 75 timeout (or the relay's queue full), 76 protocol
// error, 130 interrupted. A fault the relay reports gets the status of the
// same fault on a direct connection, and an answer saying try again that
// of the fault it names (69 unreachable, 75 slow or busy).
int exit_status(const Error& error);

// What is printed for an error: what happened, then what to do (when
// there is something to say). One line, or the lines of a scheduler's
// error text, the hint on a line of its own after them.
std::string error_line(const Error& error, const Endpoint& endpoint);

// Prints the error's line on stderr; its exit status.
int report(const Error& error, const Endpoint& endpoint);

// The command's result and a newline on stdout, flushed; 0, or the status
// of the failed write (a closed pipe is an I/O error, 74).
int print_result(const std::string& text, const Endpoint& endpoint);

}  // namespace ktstats::cli
