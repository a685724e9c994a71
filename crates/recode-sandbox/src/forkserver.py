# The fork server of recode-sandbox (see forkserver.rs): imports heavy modules once, then
# forks one child per program. Started as `python -s -c <this> FD PRELOAD_JSON`; FD is a Unix
# stream socket to the supervisor.
#
# Protocol. Supervisor -> server: a 4-byte big-endian length, then that many bytes of JSON,
# with the program's stdin, stdout and stderr descriptors attached (SCM_RIGHTS). Server ->
# supervisor: JSON lines: first {"ready": ...} once, then per program {"pid": P} right after
# the fork and {"status": S, "cpu": SECONDS, "notes": [...]} once it has been reaped.
#
# Isolation, set up once per server after the imports (when root): a pids cgroup for the
# server (its pids.max is set per program: a fork-bomb brake), and a mount namespace in which
# every file system is read-only. Per program: the program's directory is bind-mounted
# writable, the next child is put in a new pid namespace (unshare(CLONE_NEWPID) before the
# fork, setns back after: one fork), and the child starts a new session and a new network
# namespace. The child is pid 1 of its namespace: when it dies, the kernel kills everything
# left in it.
import ctypes, gc, json, os, signal, socket, struct, sys, time
# What every child needs, imported once here rather than in each child.
import atexit, fcntl, io, linecache, resource, threading, tokenize, traceback, types, warnings

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MNT_DETACH = 2
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PIDS_ROOT = "/sys/fs/cgroup/pids"

libc = ctypes.CDLL(None, use_errno=True)
ctl = socket.socket(fileno=int(sys.argv[1]))
preload = json.loads(sys.argv[2])
# No PR_SET_PDEATHSIG: it fires when the *thread* that started us ends, and servers are
# started from short-lived worker threads. The server exits when its socket is closed.


def send(obj):
    ctl.sendall((json.dumps(obj) + "\n").encode())


def errno_text(what):
    e = ctypes.get_errno()
    return f"{what}: {os.strerror(e)}"


def cgroup_v1_pids():
    # The v1 pids hierarchy when it is mounted and we may create groups in it.
    return os.path.isdir(PIDS_ROOT) and os.access(PIDS_ROOT, os.W_OK)


started = time.monotonic()
loaded = {}
for name in preload:
    try:
        module = __import__(name)
        loaded[name] = getattr(module, "__version__", None) or "imported"
    except BaseException as e:  # a missing module is reported, not fatal
        loaded[name] = f"error: {type(e).__name__}: {e}"
import_s = time.monotonic() - started
gc.collect()
gc.freeze()  # keep the imported objects' pages shared with the children
send({"ready": {"pid": os.getpid(), "python": sys.version.split()[0], "executable": sys.executable,
                "preloaded": loaded, "import_s": round(import_s, 3)}})


def recv_request():
    buf, fds = b"", []
    while len(buf) < 4:
        data, new_fds, _, _ = socket.recv_fds(ctl, 1 << 20, 8)
        if not data:
            return None, []
        buf += data
        fds += new_fds
    (length,) = struct.unpack(">I", buf[:4])
    body = buf[4:]
    while len(body) < length:
        data, new_fds, _, _ = socket.recv_fds(ctl, 1 << 20, 8)
        if not data:
            return None, fds
        body += data
        fds += new_fds
    return json.loads(body), fds


def isolate_mounts():
    # The server's own mount namespace: every file system read-only (programs get their
    # directory bind-mounted writable). Returns what could not be done.
    if libc.unshare(CLONE_NEWNS) != 0:
        return [errno_text("file systems stay writable: unshare(CLONE_NEWNS)")]
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return [errno_text("file systems stay writable: making / private")]
    failed = []
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split() for line in f]
    for fields in mounts:
        point = fields[4].replace("\\040", " ")
        options = fields[5].split(",")
        if point == "/proc" or point.startswith("/proc/"):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        flags |= MS_NOSUID if "nosuid" in options else 0
        flags |= MS_NODEV if "nodev" in options else 0
        flags |= MS_NOEXEC if "noexec" in options else 0
        if libc.mount(None, point.encode(), None, flags, None) != 0 and "ro" not in options:
            failed.append(point)
    return ["these mounts stayed writable: " + ", ".join(failed[:5])] if failed else []


def writable_dir(path):
    # Bind-mounts the program's directory onto itself, writable. Returns a note on failure.
    p = path.encode()
    if libc.mount(p, p, None, MS_BIND, None) != 0:
        return errno_text(f"bind-mounting {path}")
    if libc.mount(None, p, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, None) != 0:
        note = errno_text(f"making {path} writable")
        libc.umount2(p, MNT_DETACH)
        return note
    return None


def loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifreq = struct.pack("16sh14x", b"lo", 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(s, 0x8913, ifreq))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sh14x", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP
        return True
    except OSError:
        return False
    finally:
        s.close()


def run_program(req, fds):
    # C2: pid 1 of its namespace. Never returns.
    try:
        stdin, stdout, stderr = fds
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.closerange(3, 1 << 16)
        for resource_id, soft, hard in req["rlimits"]:
            cur_soft, cur_hard = resource.getrlimit(resource_id)
            hard = hard if cur_hard == resource.RLIM_INFINITY else min(hard, cur_hard)
            resource.setrlimit(resource_id, (min(soft, hard), hard))
        os.chdir(req["dir"])
        os.environ.clear()
        os.environ.update(req["env"])
        script = os.path.join(req["dir"], req["script"])
        sys.argv = [script] + req["args"]
        sys.path[0] = req["dir"]
        sys.dont_write_bytecode = True
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=False)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), errors="backslashreplace", line_buffering=True)
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
        # The interpreter's default filters (first match wins; filterwarnings prepends).
        warnings.resetwarnings()
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        warnings.filterwarnings("ignore", category=ImportWarning)
        warnings.filterwarnings("ignore", category=ResourceWarning)
        for option in req["warnings"]:
            warnings._setoption(option)
        # Fresh randomness, as a new process would have.
        if "random" in sys.modules:
            sys.modules["random"].seed()
        if "numpy" in sys.modules:
            try:
                sys.modules["numpy"].random.seed()
            except Exception:
                pass
        if "torch" in sys.modules:
            try:
                sys.modules["torch"].seed()
            except Exception:
                pass
        atexit._clear()
        gc.unfreeze()
        with open(script, "rb") as f:
            source = f.read()
        main = types.ModuleType("__main__")
        main.__file__ = script
        main.__builtins__ = __builtins__
        sys.modules["__main__"] = main
    except BaseException:
        traceback.print_exc()
        os._exit(120)
    code = 0
    try:
        exec(compile(source, script, "exec"), main.__dict__)
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException as e:
        tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
        if isinstance(e, SyntaxError) and tb is None:
            traceback.print_exception(type(e), e, None)
        else:
            traceback.print_exception(type(e), e, tb)
        code = 1
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(code)


def child(req, fds, notes_fd, pidns_note):
    # The forked child: session, network namespace, then the program. Never returns.
    notes = [pidns_note] if pidns_note else []
    try:
        os.setsid()
        if req["netns"]:
            if libc.unshare(CLONE_NEWNET) != 0:
                notes.append(errno_text("network not isolated"))
                if req["require_netns"]:
                    os.write(notes_fd, json.dumps(notes).encode())
                    os._exit(121)
            elif not loopback_up():
                notes.append("the loopback interface could not be brought up")
        os.write(notes_fd, json.dumps(notes).encode())
        os.close(notes_fd)
    except BaseException:
        os._exit(122)
    run_program(req, fds)


def remove_stale_cgroups():
    # A server killed before it could clean up (SIGKILL) leaves its empty group behind: remove
    # the groups of servers that no longer exist. A group that still holds processes is busy and
    # rmdir refuses it.
    for name in os.listdir(PIDS_ROOT):
        pid = name[len("recode-sandbox-"):]
        if name.startswith("recode-sandbox-") and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                os.rmdir(os.path.join(PIDS_ROOT, name))
            except OSError:
                pass


# Once per server, after the imports: a pids cgroup and read-only file systems.
server_notes = []
cgroup = None
if cgroup_v1_pids():
    remove_stale_cgroups()
    cgroup = os.path.join(PIDS_ROOT, f"recode-sandbox-{os.getpid()}")
    try:
        os.mkdir(cgroup)
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        # Kept open: the cgroup file system is read-only once the mounts are isolated.
        pids_max_fd = os.open(os.path.join(cgroup, "pids.max"), os.O_WRONLY | os.O_CLOEXEC)
    except OSError as e:
        server_notes.append(f"no process limit: cannot use {cgroup}: {e}")
        try:
            os.rmdir(cgroup)
        except OSError:
            pass
        cgroup = None
else:
    server_notes.append("no process limit: the v1 pids cgroup hierarchy is not available")
mounts_isolated = False
if os.geteuid() == 0:
    mount_notes = isolate_mounts()
    mounts_isolated = not mount_notes
    server_notes += mount_notes
else:
    server_notes.append("file systems stay writable (not root)")
try:
    own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY)
except OSError:
    own_pidns = None


def leave():
    # The supervisor removes the (then empty) cgroup once this process has exited.
    sys.exit(0)


while True:
    req, fds = recv_request()
    if req is None:
        leave()
    notes = list(server_notes)
    if cgroup and req["processes"]:
        try:
            os.pwrite(pids_max_fd, str(int(req["processes"]) + 1).encode(), 0)  # + the server itself
        except OSError as e:
            notes.append(f"no process limit: {e}")
    bound = False
    if mounts_isolated:
        note = writable_dir(req["dir"])
        if note:
            notes.append(note)
        else:
            bound = True
    pidns_note = None
    in_pidns = False
    if req["pidns"] and own_pidns is not None:
        if libc.unshare(CLONE_NEWPID) == 0:
            in_pidns = True
        else:
            pidns_note = errno_text("no pid namespace")
    notes_r, notes_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            ctl.close()
            os.close(notes_r)
            child(req, fds, notes_w, pidns_note)
        finally:
            os._exit(123)
    if in_pidns:
        libc.setns(own_pidns, CLONE_NEWPID)
    for fd in fds:
        os.close(fd)
    os.close(notes_w)
    send({"pid": pid})
    notes_bytes = b""
    while True:
        chunk = os.read(notes_r, 65536)
        if not chunk:
            break
        notes_bytes += chunk
    os.close(notes_r)
    # Wait for the exit without reaping, kill what is left of the group, then reap.
    while True:
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            break
        except InterruptedError:
            continue
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status, usage = os.wait4(pid, 0)
    if bound:
        libc.umount2(req["dir"].encode(), MNT_DETACH)
    try:
        notes += json.loads(notes_bytes) if notes_bytes else ["the program's setup reported nothing"]
    except ValueError:
        notes.append("the program's setup report was garbled")
    send({"status": status, "cpu": usage.ru_utime + usage.ru_stime, "notes": notes})
