package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// mailServer is a small SMTP server on 127.0.0.1 that speaks enough of the
// protocol (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
// QUIT) for the sender to be tested against real bytes on a real socket.
type mailServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config // nil: no STARTTLS offered
	user     string      // non-empty: AUTH PLAIN offered and required
	password string
	// rcptReply, when set, answers every RCPT TO instead of 250.
	rcptReply string

	mu   sync.Mutex
	mail []received
	wg   sync.WaitGroup
}

type received struct {
	From, To string
	Data     string
	TLS      bool
	Authed   bool
}

func startMailServer(t *testing.T, withTLS bool) (*mailServer, *x509.CertPool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailServer{t: t, ln: ln}
	var pool *x509.CertPool
	if withTLS {
		cert, p := selfSigned(t)
		s.tls, pool = &tls.Config{Certificates: []tls.Certificate{cert}}, p
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s, pool
}

func (s *mailServer) addr() (host, port string) {
	h, p, _ := net.SplitHostPort(s.ln.Addr().String())
	return h, p
}

func (s *mailServer) close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *mailServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mail...)
}

func (s *mailServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(conn)
		}()
	}
}

func (s *mailServer) session(conn net.Conn) {
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	var cur received
	reply("220 test.local ESMTP ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"test.local", "8BITMIME"}
			if s.tls != nil && !cur.TLS {
				ext = append(ext, "STARTTLS")
			}
			if s.user != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			for i := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " " // the last line of a multi-line reply
				}
				ext[i] = "250" + sep + ext[i]
			}
			reply(ext...)
		case "STARTTLS":
			if s.tls == nil {
				reply("502 not offered")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
			r, w = bufio.NewReader(conn), bufio.NewWriter(conn)
			cur = received{TLS: true}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || len(parts) != 3 || parts[1] != s.user || parts[2] != s.password {
				reply("535 5.7.8 authentication failed")
				continue
			}
			cur.Authed = true
			reply("235 2.7.0 authenticated")
		case "MAIL":
			if s.user != "" && !cur.Authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			from, _, _ := strings.Cut(strings.TrimPrefix(arg, "FROM:"), " ")
			cur.From = strings.Trim(from, "<>")
			reply("250 ok")
		case "RCPT":
			if s.rcptReply != "" {
				reply(s.rcptReply)
				continue
			}
			cur.To = strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>")
			reply("250 ok")
		case "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = data.String()
			s.mu.Lock()
			s.mail = append(s.mail, cur)
			s.mu.Unlock()
			cur = received{TLS: cur.TLS, Authed: cur.Authed}
			reply("250 queued")
		case "RSET":
			cur = received{TLS: cur.TLS, Authed: cur.Authed}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
