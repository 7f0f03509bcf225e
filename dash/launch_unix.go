//go:build unix

package dash

// execPrefix makes sh replace itself with the dashboard, so the recorded pid
// is the server itself (sh -c never execs on its own here).
const execPrefix = "exec "
