#ifndef AIGW_LIBS_SERVER_SIGNALS_H_
#define AIGW_LIBS_SERVER_SIGNALS_H_

namespace aigw::server {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it
// starts afterwards. Call first thing in main, before any thread exists, so
// the signals are only ever taken by WaitForTerminationSignal.
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_SIGNALS_H_
