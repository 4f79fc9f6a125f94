// Package supervise runs long-lived daemons (charon, the ziti router) under
// PID 1: each start in its own process group, output kept in a ring buffer
// and a bounded log file, restarts with capped exponential backoff, health
// probes, and a clean TERM-then-KILL stop.
//
// Because the supervisor lives inside PID 1, which must reap every orphan
// with wait4(-1), it never uses exec.Cmd.Wait: a Reaper owns all waiting in
// the process and hands each exit status to whoever started that child.
// Everything the process spawns while a Reaper runs must be started through
// it (Reaper.Start or Reaper.Run), and a process runs at most one Reaper.
package supervise
