# shellcheck shell=bash
# .ci/docker.sh brings up a Docker daemon and the registry-free test image bgr-test:latest
# for the tests of the docker package, and defines docker_teardown to undo it.
#
# Use it from .ci/run (as root), by sourcing it, never by executing it, so that
# DOCKERD_PID and docker_teardown reach the caller:
#
#     . .ci/docker.sh || exit 1      # install if needed, start dockerd, import bgr-test:latest
#     trap docker_teardown EXIT      # or call docker_teardown after the tests
#
# Sourcing is idempotent: when `docker info` already answers, no second daemon is started,
# DOCKERD_PID stays empty (or keeps the pid of the daemon an earlier sourcing started), and
# docker_teardown then leaves that daemon running. The script never changes the caller's
# shell options (set -e and friends), and it returns non-zero instead of exiting.
#
# Exported:
#   DOCKERD_PID   pid of the dockerd this script started ("" when one was already running)
#   DOCKERD_DIR   temp dir holding dockerd.pid and dockerd.log (unset when one was already running)
#
# Why plain `dockerd` and not `--bridge=none`: the tests publish a port with -p, which
# needs the default bridge and docker-proxy (machine-probes.md, 1.5).

# docker_ci_log prints a progress line on stderr, so that CI logs show each step.
docker_ci_log() {
	printf 'docker.sh: %s\n' "$*" >&2
}

# docker_ci_install installs docker.io and busybox-static when dockerd or the static
# busybox is missing; a fresh CI machine has neither.
docker_ci_install() {
	if command -v dockerd >/dev/null 2>&1 && [ -x /bin/busybox ]; then
		return 0
	fi
	docker_ci_log "installing docker.io busybox-static"
	# The lock timeout lets a concurrent apt-get (another setup script) finish first.
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq || return 1
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
		docker.io busybox-static >/dev/null || return 1
}

# docker_ci_wait polls `docker info` for up to 30 s; the daemon is usually ready in
# under a second, and a bound keeps a broken install from hanging CI.
docker_ci_wait() {
	local i=0
	until docker info >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			return 1
		fi
		if [ -n "${DOCKERD_PID:-}" ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
}

# docker_ci_clear_stale ends a dockerd or containerd that no longer answers and removes
# the pid files a killed daemon leaves behind.
docker_ci_clear_stale() {
	local f pid
	for f in /var/run/docker.pid /run/docker.pid /var/run/docker/containerd/containerd.pid \
		/run/docker/containerd/containerd.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null)
		# The pid may have been reused by an unrelated program: end it only if it
		# is a docker daemon.
		case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
		dockerd | containerd)
			docker_ci_log "ending unresponsive daemon pid $pid ($f)"
			kill -9 "$pid" 2>/dev/null || true
			;;
		esac
		rm -f "$f"
	done
}

# docker_ci_start starts dockerd in the background unless a daemon already answers.
docker_ci_start() {
	if docker info >/dev/null 2>&1; then
		docker_ci_log "daemon already running"
		return 0
	fi
	DOCKERD_DIR=$(mktemp -d -t bgrun-dockerd.XXXXXX) || return 1
	export DOCKERD_DIR
	# dockerd leaves this nsfs mount behind when it stops; a stale one makes the next
	# start fail, so clear it first.
	umount /run/docker/netns/default 2>/dev/null || true
	# A daemon that was killed (CI ends whatever a session left running) leaves its pid
	# files behind, and a new dockerd or containerd refuses to start while they exist.
	# No daemon answers at this point, so any left-over dockerd or containerd is dead
	# weight: end it and clear its pid files.
	docker_ci_clear_stale
	dockerd >"$DOCKERD_DIR/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	export DOCKERD_PID
	echo "$DOCKERD_PID" >"$DOCKERD_DIR/dockerd.pid"
	if ! docker_ci_wait; then
		docker_ci_log "dockerd did not become ready; its log follows"
		cat "$DOCKERD_DIR/dockerd.log" >&2
		return 1
	fi
	docker_ci_log "dockerd ready (pid $DOCKERD_PID, log $DOCKERD_DIR/dockerd.log)"
}

# docker_ci_image builds bgr-test:latest from the static busybox with `docker import`,
# because no registry can be reached here (machine-probes.md, 1.2).
docker_ci_image() {
	if docker image inspect bgr-test:latest >/dev/null 2>&1; then
		return 0
	fi
	local root
	root=$(mktemp -d -t bgrun-rootfs.XXXXXX) || return 1
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/www" || return 1
	cp /bin/busybox "$root/bin/busybox" || return 1
	local a
	for a in $("$root/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
	echo 'bgr-test' >"$root/www/index.html"
	local rc=0
	tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - bgr-test:latest >/dev/null || rc=1
	rm -rf "$root"
	if [ "$rc" -ne 0 ]; then
		return 1
	fi
	docker_ci_log "imported bgr-test:latest"
}

# docker_setup runs the three steps; sourcing the file calls it.
docker_setup() {
	docker_ci_install || { docker_ci_log "install failed"; return 1; }
	docker_ci_start || return 1
	docker_ci_image || { docker_ci_log "image import failed"; return 1; }
}

# docker_teardown removes the containers that bgrun's tests create (named bgrtest-*,
# or labelled bgrun.test or bgrun.name: on CI's throwaway daemon every bgrun-labelled
# container is a test's), then stops the daemon only if this script started it,
# waiting up to 30 s for it to exit. The bgr-test image is kept: it is 2 MB, and
# keeping it makes the next sourcing on the same machine instant.
docker_teardown() {
	if docker info >/dev/null 2>&1; then
		local ids
		ids=$({
			docker ps -aq --filter name=bgrtest-
			docker ps -aq --filter label=bgrun.test
			docker ps -aq --filter label=bgrun.name
		} 2>/dev/null | sort -u) || ids=
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086 # ids is a list of words on purpose.
			docker rm -f $ids >/dev/null 2>&1 || true
		fi
	fi
	if [ -z "${DOCKERD_PID:-}" ]; then
		return 0
	fi
	if kill -TERM "$DOCKERD_PID" 2>/dev/null; then
		local i=0
		while kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$i" -lt 300 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		if kill -0 "$DOCKERD_PID" 2>/dev/null; then
			docker_ci_log "dockerd $DOCKERD_PID still running after 30 s; killing it"
			kill -KILL "$DOCKERD_PID" 2>/dev/null || true
		fi
		wait "$DOCKERD_PID" 2>/dev/null || true
	fi
	umount /run/docker/netns/default 2>/dev/null || true
	DOCKERD_PID=
	export DOCKERD_PID
}

docker_setup
