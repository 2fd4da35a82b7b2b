package contrib

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unit is a systemd unit file: section → key → values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, data []byte) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("checkoff.service:%d: %q is not key=value in a section", n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) last(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// env returns the unit's Environment= assignments.
func (u unit) env() map[string]string {
	out := map[string]string{}
	for _, v := range u["Service"]["Environment"] {
		k, val, _ := strings.Cut(v, "=")
		out[k] = val
	}
	return out
}

// TestSystemdUnit: contrib/checkoff.service runs `checkoff serve` on
// loopback as an unprivileged, sandboxed service whose only writable path
// is its data directory, with no secret in the unit itself.
func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, read(t, "checkoff.service"))
	svc := "Service"
	if exec := u.last(svc, "ExecStart"); !strings.HasSuffix(strings.Fields(exec)[0], "/checkoff") || !strings.Contains(exec, " serve") || !strings.Contains(exec, "--addr 127.0.0.1:") {
		t.Errorf("ExecStart=%s: want checkoff serve on a loopback address (a proxy terminates TLS)", exec)
	}
	for key, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
		"ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes", "RestrictNamespaces": "yes",
		"LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
		"AmbientCapabilities": "", "SystemCallArchitectures": "native", "UMask": "0077",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	} {
		if vs, ok := u[svc][key]; !ok || vs[len(vs)-1] != want {
			t.Errorf("%s=%v, want %q", key, u[svc][key], want)
		}
	}
	if len(u[svc]["SystemCallFilter"]) == 0 {
		t.Error("no SystemCallFilter")
	}
	// A user of its own: never root.
	if u.last(svc, "DynamicUser") != "yes" && (u.last(svc, "User") == "" || u.last(svc, "User") == "root") {
		t.Errorf("DynamicUser=%q User=%q: want a dynamic or dedicated user", u.last(svc, "DynamicUser"), u.last(svc, "User"))
	}
	// The data directory is writable under ProtectSystem=strict: it is the
	// StateDirectory, or listed in ReadWritePaths.
	env := u.env()
	dataDir := env["CHECKOFF_DATA_DIR"]
	writable := map[string]bool{}
	for _, d := range u[svc]["StateDirectory"] {
		writable["/var/lib/"+d] = true
	}
	for _, p := range u[svc]["ReadWritePaths"] {
		for _, d := range strings.Fields(p) {
			writable[strings.TrimPrefix(d, "-")] = true
		}
	}
	if dataDir == "" || !writable[dataDir] {
		t.Errorf("CHECKOFF_DATA_DIR=%q is not writable (StateDirectory %v, ReadWritePaths %v)", dataDir, u[svc]["StateDirectory"], u[svc]["ReadWritePaths"])
	}
	// Secrets come from root-only files, never the unit (world-readable,
	// and shown by systemctl show).
	for _, k := range []string{"GITHUB_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET", "AWS_SECRET_ACCESS_KEY"} {
		if _, ok := env[k]; ok {
			t.Errorf("Environment=%s in the unit: put it in the EnvironmentFile", k)
		}
	}
	key := env["GITHUB_PRIVATE_KEY_FILE"]
	cred, _, _ := strings.Cut(u.last(svc, "LoadCredential"), ":")
	if cred == "" || key != "%d/"+cred {
		t.Errorf("GITHUB_PRIVATE_KEY_FILE=%q, LoadCredential=%q: want the key read from the credential", key, u.last(svc, "LoadCredential"))
	}
	if f := u.last(svc, "EnvironmentFile"); !strings.HasPrefix(strings.TrimPrefix(f, "-"), "/etc/checkoff/") {
		t.Errorf("EnvironmentFile=%q, want one under /etc/checkoff", f)
	}
	if u.last("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("WantedBy=%q", u.last("Install", "WantedBy"))
	}

	verifyUnit(t, read(t, "checkoff.service"), true)
}

// TestSystemdUnitVerifyCatchesTypos: systemd-analyze verify exits 0 on a
// misspelt key or value, which systemd then ignores; the test reads its
// warnings, so a typo in a hardening option fails it.
func TestSystemdUnitVerifyCatchesTypos(t *testing.T) {
	bad := bytes.Replace(read(t, "checkoff.service"), []byte("ProtectSystem=strict"), []byte("ProtectSystem=strcit"), 1)
	bad = bytes.Replace(bad, []byte("NoNewPrivileges=yes"), []byte("NoNewPrivilege=yes"), 1)
	verifyUnit(t, bad, false)
}

// verifyUnit runs systemd-analyze verify on the unit (its ExecStart
// pointed at a binary that exists here) and wants no warning about the
// file when clean, some when not. Without systemd-analyze it skips.
func verifyUnit(t *testing.T, data []byte, clean bool) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd); the key checks ran")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("ExecStart=/usr/local/bin/checkoff "), []byte("ExecStart="+self+" "), 1)
	path := filepath.Join(t.TempDir(), "checkoff.service")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "verify", path)
	out, err := cmd.CombinedOutput()
	var warnings []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, path) || strings.Contains(l, "checkoff.service") {
			warnings = append(warnings, l)
		}
	}
	switch {
	case clean && (err != nil || len(warnings) > 0):
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	case !clean && len(warnings) == 0:
		t.Errorf("systemd-analyze verify found nothing wrong with a broken unit: %v\n%s", err, out)
	}
}
