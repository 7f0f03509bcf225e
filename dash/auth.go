package dash

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"

	"bgrun/ports"
	"bgrun/store"
)

// cookieName is the login cookie the page gets for its token.
const cookieName = "bgrun_token"

// Whoever reaches the dashboard can run commands as its owner, so every
// request must prove it comes from the owner:
//
//   - the token, from the cookie the page got when opened with ?token=, an
//     "Authorization: Bearer" or X-Bgrun-Token header; any Host is fine then
//     (a reverse proxy), the token is the protection;
//   - or, on Linux with the dashboard on loopback, a connection from a socket
//     of the owner's own user (found in /proc/net/tcp), for scripts on this
//     machine. That one holds only for a request addressed to localhost (no
//     DNS rebinding), made by no browser (no Origin nor Sec-Fetch-Site: a web
//     page the owner visits runs as the owner too) and through no proxy.
//
// Anything else gets 401; another local user's curl included.

// credential is how a request proved itself.
type credential int

const (
	noCredential credential = iota
	byToken                 // a header or the cookie
	byPageToken             // ?token= on the page: answer with the cookie
	byPeerUser              // a local connection of the owner's user
)

// authenticate says how r proved it comes from the owner, if it did.
func (s *server) authenticate(r *http.Request) credential {
	if s.hasToken {
		if t := requestToken(r); t != "" && s.tokenIs(t) {
			return byToken
		}
		if c, err := r.Cookie(cookieName); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.cookieValue())) == 1 {
			return byToken
		}
		if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet && r.URL.Path == "/" && s.tokenIs(t) {
			return byPageToken
		}
	}
	if s.peerIsOwner(r) {
		return byPeerUser
	}
	return noCredential
}

// requestToken returns the token a request carries in a header.
func requestToken(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return r.Header.Get("X-Bgrun-Token")
}

// tokenIs compares t with the token in constant time (hashes of equal
// length, so not even the length leaks).
func (s *server) tokenIs(t string) bool {
	sum := sha256.Sum256([]byte(t))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

// peerIsOwner reports whether r is a script's request from a socket of the
// dashboard's own user on this machine (see above).
func (s *server) peerIsOwner(r *http.Request) bool {
	if s.ownerUID < 0 || !isLoopbackHost(hostOnly(r.Host)) {
		return false
	}
	for _, h := range []string{"Origin", "Sec-Fetch-Site", "Forwarded", "X-Forwarded-For", "X-Real-Ip", "Via"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	la, err1 := netip.ParseAddrPort(local.String())
	pa, err2 := netip.ParseAddrPort(r.RemoteAddr)
	if err1 != nil || err2 != nil || !la.Addr().IsLoopback() || !pa.Addr().IsLoopback() {
		return false
	}
	uid, ok := ports.PeerUID(la, pa)
	return ok && uid == s.ownerUID
}

// setLoginCookie gives the page its token as a cookie that scripts in the
// page cannot read and that no other site's request carries.
func (s *server) setLoginCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.cookieValue(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
}

// cookieValue is what the login cookie holds: derived from the token, so
// that any token (quotes, spaces) makes a valid cookie and the cookie is not
// the token itself.
func (s *server) cookieValue() string {
	sum := sha256.Sum256([]byte("bgrun dashboard cookie\x00" + s.token))
	return hex.EncodeToString(sum[:])
}

// loginHelp is the answer to a request without a valid credential.
const loginHelp = "missing or wrong token: open the link that `bgrun --dashboard` prints, " +
	"or send the token of %s as \"Authorization: Bearer TOKEN\""

// loadToken returns the dashboard's login token kept in the store folder
// dir, making one (0600) the first time. Two launches at once agree on one.
func loadToken(dir string) (string, error) {
	path := store.TokenFile(dir)
	for range 3 {
		b, err := store.ReadSmall(path, 4096)
		if err == nil {
			if t := strings.TrimSpace(string(b)); t != "" {
				return t, nil
			}
			return "", fmt.Errorf("dashboard token: %s is empty; remove it to get a new token", path)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("dashboard token: %w", err)
		}
		t, err := newToken()
		if err != nil {
			return "", err
		}
		err = writeToken(dir, t, os.Link)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// Another launch made it first: read theirs.
	}
	return "", fmt.Errorf("dashboard token: cannot create %s", path)
}

// saveToken makes t the dashboard's token of the store folder dir (0600),
// replacing any other.
func saveToken(dir, t string) error {
	return writeToken(dir, t, os.Rename)
}

// writeToken writes t to a new private file and puts it in place with
// place (os.Link to keep an existing token, os.Rename to replace it), so
// that the token file is never seen half written.
func writeToken(dir, t string, place func(from, to string) error) error {
	path := store.TokenFile(dir)
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	os.Remove(tmp)
	f, _, err := store.OpenPrivate(tmp, os.O_WRONLY|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("dashboard token: %w", err)
	}
	defer os.Remove(tmp)
	_, err = f.WriteString(t + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = place(tmp, path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("dashboard token: %w", err)
	}
	return err
}
