package ingest

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/attest-hq/attest/detect/event"
)

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// parseAuthLog reads one syslog line of /var/log/auth.log or /var/log/secure:
// "Mar  1 12:00:00 host prog[pid]: message" (the year is not logged and comes
// from now: a date in the future by more than a day belongs to last year) or
// the RFC 3339 form newer rsyslog writes. Besides the syslog parts (host,
// program, pid, message) it extracts, for sshd, sudo, su and the shadow
// utilities: user, src_ip, src_port, auth_method, target_user, command,
// tty, pwd, group.
func parseAuthLog(rec []byte, ev *event.Event, now time.Time) error {
	ev.Source = event.SourceAuthLog
	ev.Raw = rec
	rest := rec
	var t time.Time
	if len(rest) > 16 && rest[3] == ' ' && rest[6] == ' ' && rest[9] == ':' && rest[12] == ':' {
		mon, ok := months[string(rest[:3])]
		if !ok {
			return errNotSyslog
		}
		day, err1 := strconv.Atoi(string(bytes.TrimSpace(rest[4:6])))
		h, err2 := strconv.Atoi(string(rest[7:9]))
		mi, err3 := strconv.Atoi(string(rest[10:12]))
		s, err4 := strconv.Atoi(string(rest[13:15]))
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return errNotSyslog
		}
		t = time.Date(now.Year(), mon, day, h, mi, s, 0, time.UTC)
		if t.After(now.Add(24 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
		rest = rest[16:]
	} else if sp := bytes.IndexByte(rest, ' '); sp >= 19 && rest[4] == '-' && rest[10] == 'T' {
		tt, err := time.Parse(time.RFC3339Nano, string(rest[:sp]))
		if err != nil {
			return errNotSyslog
		}
		t = tt.UTC()
		rest = rest[sp+1:]
	} else {
		return errNotSyslog
	}
	ev.Time = t
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return errNotSyslog
	}
	host := rest[:sp]
	rest = rest[sp+1:]
	colon := bytes.Index(rest, []byte(": "))
	if colon < 0 {
		return errNotSyslog
	}
	tag := rest[:colon]
	msg := rest[colon+2:]
	prog, pid := tag, []byte(nil)
	if lb := bytes.IndexByte(tag, '['); lb >= 0 && tag[len(tag)-1] == ']' {
		prog, pid = tag[:lb], tag[lb+1:len(tag)-1]
	}
	ev.Add("host", host)
	ev.Add("program", prog)
	ev.Add("process", prog)
	if pid != nil {
		ev.Add("pid", pid)
	}
	ev.Add("message", msg)
	ev.Target = string(host)
	ev.Action = string(prog)
	ev.ActorType = "user"
	switch string(prog) {
	case "sshd", "sshd-session":
		parseSSHD(msg, ev)
	case "sudo":
		parseSudo(msg, ev)
	case "su":
		parseSu(msg, ev)
	case "useradd", "groupadd", "usermod", "userdel", "passwd", "chpasswd", "gpasswd":
		parseShadowUtil(string(prog), msg, ev)
	default:
		parsePAM(msg, ev)
	}
	return nil
}

// word returns the space-delimited word after prefix in msg.
func word(msg []byte, prefix string) ([]byte, bool) {
	i := bytes.Index(msg, []byte(prefix))
	if i < 0 {
		return nil, false
	}
	w := msg[i+len(prefix):]
	if sp := bytes.IndexAny(w, " ,;"); sp >= 0 {
		w = w[:sp]
	}
	return w, true
}

func parseSSHD(msg []byte, ev *event.Event) {
	switch {
	case bytes.HasPrefix(msg, []byte("Accepted ")):
		// Accepted publickey for alice from 203.0.113.9 port 50522 ssh2: ...
		method, _ := word(msg, "Accepted ")
		user, _ := word(msg, " for ")
		ip, _ := word(msg, " from ")
		port, _ := word(msg, " port ")
		ev.Action, ev.Outcome = "ssh.login", event.OutcomeSuccess
		ev.Actor, ev.SourceIP = string(user), string(ip)
		ev.Add("user", user)
		ev.Add("src_ip", ip)
		ev.Add("src_port", port)
		ev.Add("auth_method", method)
	case bytes.HasPrefix(msg, []byte("Failed ")):
		// Failed password for invalid user bob from 198.51.100.4 port 4242 ssh2
		method, _ := word(msg, "Failed ")
		user, _ := word(msg, " for ")
		if u, ok := word(msg, " invalid user "); ok {
			user = u
		}
		ip, _ := word(msg, " from ")
		ev.Action, ev.Outcome = "ssh.login", event.OutcomeFailure
		ev.Actor, ev.SourceIP = string(user), string(ip)
		ev.Add("user", user)
		ev.Add("src_ip", ip)
		ev.Add("auth_method", method)
	case bytes.HasPrefix(msg, []byte("Invalid user ")):
		user, _ := word(msg, "Invalid user ")
		ip, _ := word(msg, " from ")
		ev.Action, ev.Outcome = "ssh.invalid_user", event.OutcomeFailure
		ev.Actor, ev.SourceIP = string(user), string(ip)
		ev.Add("user", user)
		ev.Add("src_ip", ip)
	case bytes.HasPrefix(msg, []byte("subsystem request for ")):
		// subsystem request for sftp by user alice
		sub, _ := word(msg, "subsystem request for ")
		ev.Action, ev.Outcome = "ssh.subsystem."+string(sub), event.OutcomeSuccess
		ev.Add("subsystem", sub)
		if user, ok := word(msg, " by user "); ok {
			ev.Actor = string(user)
			ev.Add("user", user)
		}
	default:
		parsePAM(msg, ev)
		if ev.Action == "sshd-session" {
			ev.Action = "sshd"
		}
	}
}

// parseSudo reads "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash".
func parseSudo(msg []byte, ev *event.Event) {
	msg = bytes.TrimLeft(msg, " ")
	sep := bytes.Index(msg, []byte(" : "))
	if sep < 0 {
		parsePAM(msg, ev)
		return
	}
	user := msg[:sep]
	ev.Actor = string(user)
	ev.Add("user", user)
	ev.Action, ev.Outcome = "sudo", event.OutcomeSuccess
	if bytes.Contains(msg, []byte("incorrect password")) || bytes.Contains(msg, []byte("NOT in sudoers")) || bytes.Contains(msg, []byte("command not allowed")) {
		ev.Outcome = event.OutcomeFailure
	}
	for _, part := range bytes.Split(msg[sep+3:], []byte(" ; ")) {
		k, v, ok := bytes.Cut(part, []byte("="))
		if !ok {
			continue
		}
		switch string(bytes.TrimSpace(k)) {
		case "TTY":
			ev.Add("tty", v)
		case "PWD":
			ev.Add("pwd", v)
		case "USER":
			ev.Add("target_user", v)
			ev.Target = string(v) + "@" + ev.Target
		case "COMMAND":
			ev.Add("command", v)
		}
	}
}

// parseSu reads "Successful su for root by alice", "FAILED su for root by
// alice", "(to root) alice on pts/0" and the pam_unix session lines.
func parseSu(msg []byte, ev *event.Event) {
	ev.Action = "su"
	var target, user []byte
	switch {
	case bytes.HasPrefix(msg, []byte("(to ")):
		target, _ = word(msg, "(to ")
		target = bytes.TrimSuffix(target, []byte(")"))
		user, _ = word(msg, ") ")
		ev.Outcome = event.OutcomeSuccess
	case bytes.Contains(msg, []byte("su for ")):
		target, _ = word(msg, "su for ")
		user, _ = word(msg, " by ")
		ev.Outcome = event.OutcomeSuccess
		if bytes.HasPrefix(msg, []byte("FAILED")) {
			ev.Outcome = event.OutcomeFailure
		}
	default:
		parsePAM(msg, ev)
		ev.Action = "su"
		return
	}
	ev.Actor = string(user)
	ev.Add("user", user)
	ev.Add("target_user", target)
	ev.Target = string(target) + "@" + ev.Target
}

// parsePAM reads pam_unix lines: "pam_unix(su:session): session opened for
// user root(uid=0) by alice(uid=1000)" and "authentication failure; ...
// user=bob".
func parsePAM(msg []byte, ev *event.Event) {
	if u, ok := word(msg, "session opened for user "); ok {
		u, _, _ = bytes.Cut(u, []byte("("))
		ev.Add("target_user", u)
		ev.Outcome = event.OutcomeSuccess
		if by, ok := word(msg, " by "); ok {
			by, _, _ = bytes.Cut(by, []byte("("))
			if len(by) > 0 {
				ev.Actor = string(by)
				ev.Add("user", by)
			}
		}
		if ev.Actor == "" {
			ev.Actor = string(u)
		}
		ev.Action += ".session"
		return
	}
	if bytes.Contains(msg, []byte("authentication failure")) {
		ev.Outcome = event.OutcomeFailure
		if u, ok := word(msg, " user="); ok {
			ev.Actor = string(u)
			ev.Add("user", u)
		}
		if r, ok := word(msg, " rhost="); ok && len(r) > 0 {
			ev.SourceIP = string(r)
			ev.Add("src_ip", r)
		}
		ev.Action += ".auth_failure"
	}
}

// parseShadowUtil reads the shadow utilities: "new user: name=bob, UID=1001,
// ...", "add 'bob' to group 'sudo'", "password changed for bob".
func parseShadowUtil(prog string, msg []byte, ev *event.Event) {
	ev.Outcome = event.OutcomeSuccess
	switch {
	case bytes.HasPrefix(msg, []byte("new user: ")), bytes.HasPrefix(msg, []byte("new group: ")):
		name, _ := word(msg, "name=")
		ev.Target = string(name)
		ev.Add("target_user", name)
		ev.Action = prog
	case bytes.HasPrefix(msg, []byte("add '")):
		parts := bytes.Split(msg, []byte("'"))
		if len(parts) >= 4 {
			ev.Target = string(parts[1])
			ev.Add("target_user", parts[1])
			ev.Add("group", parts[3])
		}
		ev.Action = prog + ".group_add"
	case bytes.Contains(msg, []byte("delete user")):
		name, _ := word(msg, "delete user '")
		name = bytes.TrimSuffix(name, []byte("'"))
		ev.Target = string(name)
		ev.Add("target_user", name)
		ev.Action = "userdel"
	default:
		parsePAM(msg, ev)
	}
}

// x86_64 system call numbers for the calls SigmaHQ auditd rules name; raw
// (non-enriched) audit logs only carry the number.
var syscallNames = map[string]string{
	"0": "read", "1": "write", "2": "open", "3": "close", "9": "mmap", "21": "access", "41": "socket",
	"42": "connect", "43": "accept", "44": "sendto", "49": "bind", "50": "listen", "56": "clone", "57": "fork", "58": "vfork",
	"59": "execve", "62": "kill", "63": "uname", "82": "rename", "83": "mkdir", "84": "rmdir", "85": "creat",
	"86": "link", "87": "unlink", "88": "symlink", "90": "chmod", "91": "fchmod", "92": "chown",
	"93": "fchown", "94": "lchown", "99": "sysinfo", "101": "ptrace", "103": "syslog", "105": "setuid",
	"106": "setgid", "113": "setreuid", "117": "setresuid", "133": "mknod", "157": "prctl", "159": "adjtimex",
	"165": "mount", "166": "umount2", "169": "reboot", "175": "init_module", "176": "delete_module",
	"188": "setxattr", "227": "clock_settime", "257": "openat", "259": "mknodat", "260": "fchownat",
	"263": "unlinkat", "264": "renameat", "268": "fchmodat", "310": "process_vm_readv",
	"311": "process_vm_writev", "313": "finit_module", "316": "renameat2", "319": "memfd_create",
	"321": "bpf", "322": "execveat",
}

// parseAuditd reads one auditd record: "type=SYSCALL msg=audit(1700000000.123:42): key=value ...",
// including the quoted msg='...' of user-space records and the enriched
// (log_format=ENRICHED) names after the 0x1d separator. EXECVE arguments
// logged in hex are decoded, and SYSCALL carries the call's name.
func parseAuditd(rec []byte, ev *event.Event) error {
	ev.Source = event.SourceAuditd
	ev.Raw = rec
	if !bytes.HasPrefix(rec, []byte("type=")) {
		// audisp/syslog forwarding prefixes a syslog header; look for the record.
		i := bytes.Index(rec, []byte("type="))
		if i < 0 {
			return errNotAuditd
		}
		rec = rec[i:]
	}
	var typ, syscall, arch, auid, uid, exe, comm, success, res, addr, name, a0, acct, hostname []byte
	enrichedSyscall := false
	for _, part := range splitAuditd(rec) {
		k, v := part.key, part.value
		switch string(k) {
		case "type":
			typ = v
		case "msg":
			// msg=audit(1700000000.123:42):
			if bytes.HasPrefix(v, []byte("audit(")) {
				inner := bytes.TrimSuffix(bytes.TrimSuffix(v[6:], []byte(":")), []byte(")"))
				ts, serial, _ := bytes.Cut(inner, []byte(":"))
				if f, err := strconv.ParseFloat(string(ts), 64); err == nil {
					sec := int64(f)
					ev.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Truncate(time.Millisecond)
				}
				ev.Add("serial", serial)
			}
			continue
		case "syscall":
			syscall = v
		case "SYSCALL":
			syscall, enrichedSyscall = v, true
		case "arch":
			arch = v
		case "auid":
			if auid == nil {
				auid = v
			}
		case "AUID":
			auid = v
		case "uid":
			if uid == nil {
				uid = v
			}
		case "UID":
			uid = v
		case "exe":
			exe = v
		case "comm":
			comm = v
		case "success":
			success = v
		case "res":
			res = v
		case "addr":
			addr = v
		case "name":
			name = v
		case "a0":
			a0 = v
		case "acct":
			acct = v
		case "hostname":
			hostname = v
		}
		if !part.quoted && len(k) >= 2 && k[0] == 'a' && k[1] >= '0' && k[1] <= '9' && bytes.Equal(typ, []byte("EXECVE")) {
			v = decodeHexArg(v, ev)
			if string(k) == "a0" {
				a0 = v
			}
		}
		// syscall and SYSCALL share a field key (names are case-blind);
		// both are added below, the name first.
		if string(k) != "SYSCALL" && string(k) != "syscall" {
			ev.Add(string(k), v)
		}
	}
	if len(typ) == 0 {
		return errNotAuditd
	}
	if len(syscall) > 0 {
		sc := syscall
		if !enrichedSyscall && (len(arch) == 0 || string(arch) == "c000003e") {
			if n, ok := syscallNames[string(syscall)]; ok {
				sc = []byte(n)
			}
		}
		ev.AddString("SYSCALL", string(sc))
		if !bytes.Equal(sc, syscall) {
			ev.Add("syscall", syscall)
		}
		syscall = sc
	}
	ev.ActorType = "user"
	switch {
	case len(acct) > 0:
		ev.Actor = string(acct)
	case len(auid) > 0 && string(auid) != "4294967295" && string(auid) != "unset":
		ev.Actor = string(auid)
	default:
		ev.Actor = string(uid)
	}
	ev.Action = string(typ)
	if len(syscall) > 0 {
		ev.Action += ":" + string(syscall)
	}
	switch {
	case bytes.Equal(typ, []byte("EXECVE")):
		ev.Target = string(a0)
	case len(exe) > 0:
		ev.Target = string(exe)
	case len(name) > 0:
		ev.Target = string(name)
	default:
		ev.Target = string(comm)
	}
	if len(addr) > 0 && string(addr) != "?" {
		ev.SourceIP = string(addr)
	} else if len(hostname) > 0 && string(hostname) != "?" {
		ev.SourceIP = string(hostname)
	}
	switch {
	case string(success) == "yes" || string(res) == "success" || string(res) == "1":
		ev.Outcome = event.OutcomeSuccess
	case string(success) == "no" || string(res) == "failed" || string(res) == "0":
		ev.Outcome = event.OutcomeFailure
	}
	return nil
}

// decodeHexArg decodes an EXECVE argument that auditd logged as hex
// (it does so when the argument has spaces or quotes).
func decodeHexArg(v []byte, ev *event.Event) []byte {
	if len(v) < 2 || len(v)%2 != 0 {
		return v
	}
	for _, c := range v {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return v
		}
	}
	start := len(ev.Arena)
	dec, err := hex.AppendDecode(ev.Arena, v)
	if err != nil {
		return v
	}
	ev.Arena = dec
	return ev.Arena[start:len(ev.Arena):len(ev.Arena)]
}

// splitAuditd splits an auditd record into key/value pairs. Values may be
// bare, "double quoted" or 'single quoted'; a single-quoted msg='...' of a
// user-space record holds more pairs, which are returned too.
type auditPair struct {
	key, value []byte
	quoted     bool
}

func splitAuditd(rec []byte) []auditPair {
	var out []auditPair
	var walk func(b []byte)
	walk = func(b []byte) {
		i := 0
		for i < len(b) {
			for i < len(b) && (b[i] == ' ' || b[i] == 0x1d) {
				i++
			}
			eq := bytes.IndexByte(b[i:], '=')
			if eq < 0 {
				return
			}
			k := b[i : i+eq]
			if sp := bytes.LastIndexAny(k, " \x1d"); sp >= 0 {
				k = k[sp+1:]
			}
			i += eq + 1
			var v []byte
			quoted := false
			switch {
			case i < len(b) && (b[i] == '"' || b[i] == '\''):
				q := b[i]
				end := bytes.IndexByte(b[i+1:], q)
				if end < 0 {
					v = b[i+1:]
					i = len(b)
				} else {
					v = b[i+1 : i+1+end]
					i += end + 2
				}
				if q == '\'' {
					walk(v)
					continue
				}
				quoted = true
			default:
				end := bytes.IndexAny(b[i:], " \x1d")
				if end < 0 {
					end = len(b) - i
				}
				v = b[i : i+end]
				i += end
			}
			out = append(out, auditPair{k, v, quoted})
		}
	}
	walk(rec)
	return out
}
