package run

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"

	"bgrun/store"
)

// configEnv reads the variables a process started in dir would get from its
// config and .env files: config (relative to dir, or absolute; "" for the
// default .config.toml, which may be missing) unless noConfig, then envFiles.
// It returns them with the files it read.
func configEnv(dir, config string, noConfig bool, envFiles []string) ([]EnvVar, []string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckDir(abs); err != nil {
		return nil, nil, err
	}
	rec := store.Record{Dir: abs, ConfigPath: config, NoConfig: noConfig, EnvFiles: envFiles}
	env, loaded, err := Environment(&rec)
	if err != nil {
		return nil, nil, err
	}
	// Keep only what the files gave: drop the identity variables.
	vars := EnvFromList(env)
	out := vars[:0]
	for _, v := range vars {
		if v.Key != "BGR_PROCESS_NAME" {
			out = append(out, v)
		}
	}
	return out, loaded, nil
}

// defaultShell is the --env dialect when none is given.
func defaultShell() string {
	if runtime.GOOS == "windows" {
		return "powershell"
	}
	return "sh"
}

// inline runs argv in the foreground (`bgrun inline -- CMD ARGS...`), in dir,
// with the caller's environment overlaid by the config and .env files, and
// returns its exit status. It is not recorded in the store. SIGINT and
// SIGTERM reach the child, which decides when to end.
func inline(dir string, vars []EnvVar, argv []string) (int, error) {
	if len(argv) == 0 {
		return 0, store.Errorf(store.KindBadInput, "no command to run")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = envList(mergeEnv(EnvFromList(os.Environ()), vars))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The terminal sends SIGINT to the whole foreground group, child
	// included; bgrun only has to outlive it to pass on its status.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, forwardSignals...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("inline: %w", err)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	code, sig := exitStatus(cmd.ProcessState)
	if sig != "" {
		code = 128 + signalNumber(cmd.ProcessState)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 1, err
	}
	return code, nil
}
