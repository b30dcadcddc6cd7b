package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/store"
)

// SMTP is how to reach the mail server. Built by ParseSMTPURL from the
// ATTEST_SMTP_URL setting.
type SMTP struct {
	Host        string
	Port        string
	Username    string
	Password    string
	From        string
	ImplicitTLS bool        // smtps://: TLS from the first byte; otherwise STARTTLS when the server offers it
	TLS         *tls.Config // nil: system roots, ServerName = Host
	Timeout     time.Duration
}

// ParseSMTPURL reads smtp://[user:pass@]host[:port] (STARTTLS when the
// server offers it, port 587 by default) or smtps://... (implicit TLS, port
// 465). from is the sender address.
func ParseSMTPURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("ATTEST_SMTP_URL must look like smtp://user:password@mail.example.com:587 or smtps://...:465")
	}
	s := &SMTP{Host: u.Hostname(), Port: u.Port(), ImplicitTLS: u.Scheme == "smtps", From: strings.TrimSpace(from)}
	if s.Port == "" {
		s.Port = "587"
		if s.ImplicitTLS {
			s.Port = "465"
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if s.From == "" {
		return nil, errors.New("ATTEST_SMTP_FROM must name the sender address when ATTEST_SMTP_URL is set")
	}
	if _, err := parseAddr(s.From); err != nil {
		return nil, fmt.Errorf("ATTEST_SMTP_FROM: %q is not an email address", s.From)
	}
	return s, nil
}

func parseAddr(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n<>") || !strings.Contains(s, "@") {
		return "", errors.New("bad address")
	}
	return s, nil
}

// Sender sends queued deliveries; its Deliver method is the job handler
// for JobKind.
type Sender struct {
	DB     *store.DB
	Sealer Sealer
	SMTP   *SMTP        // nil: email deliveries fail with "email is not configured"
	HTTP   *http.Client // nil: a client with a 15 s timeout
	// Hostname names this instance in Message-IDs.
	Hostname string
}

// EmailConfigured reports whether email can be sent at all, so planners
// do not queue mail that cannot leave.
func (s *Sender) EmailConfigured() bool { return s != nil && s.SMTP != nil }

// ErrEmailNotConfigured is the failure of an email delivery on an
// instance without ATTEST_SMTP_URL.
var ErrEmailNotConfigured = errors.New("email is not configured on this server (set ATTEST_SMTP_URL and ATTEST_SMTP_FROM)")

// Deliver sends one delivery and records the outcome. A failure is
// returned so the job runner retries it with backoff; the delivery shows
// "retrying" with the error until the last attempt, then "failed".
func (s *Sender) Deliver(ctx context.Context, j jobs.Job) error {
	var p deliverPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	d, err := GetDelivery(ctx, s.DB.Q(), j.OrgID, p.ID)
	if err != nil {
		if attest.KindOf(err) == attest.KindNotFound {
			return jobs.Permanent(err)
		}
		return err
	}
	if d.Status == StatusSent {
		return nil // sent by an earlier attempt whose job record was lost
	}
	sendErr := s.send(ctx, d)
	final := j.Final() || jobs.IsPermanent(sendErr)
	if rerr := s.record(ctx, d, sendErr, final); rerr != nil {
		if sendErr == nil {
			// Sent but not recorded: failing the job would send it again,
			// so log-worthy but done.
			return jobs.Permanent(fmt.Errorf("delivery %s was sent but recording it failed: %w", d.ID, rerr))
		}
		return errors.Join(sendErr, rerr)
	}
	return sendErr
}

func (s *Sender) send(ctx context.Context, d Delivery) error {
	switch d.Channel {
	case ChannelEmail:
		if s.SMTP == nil {
			return ErrEmailNotConfigured
		}
		return s.sendEmail(ctx, d)
	case ChannelWebhook, ChannelSlack:
		u, err := channelURL(ctx, s.DB.Q(), s.Sealer, d.OrgID, d.ChannelID)
		if err != nil {
			if attest.KindOf(err) == attest.KindNotFound {
				return jobs.Permanent(errors.New("the channel was deleted"))
			}
			return err
		}
		body, err := webhookBody(d)
		if err != nil {
			return jobs.Permanent(err)
		}
		return s.post(ctx, u, body)
	}
	return jobs.Permanent(fmt.Errorf("unknown channel %q", d.Channel))
}

func (s *Sender) record(ctx context.Context, d Delivery, sendErr error, final bool) error {
	return s.DB.InTx(context.WithoutCancel(ctx), attest.System(d.OrgID), func(tx *store.Tx) error {
		status, msg, action := StatusSent, "", "delivery.sent"
		var sent any
		if sendErr != nil {
			status, msg, action = StatusRetrying, sendErr.Error(), "delivery.attempt_failed"
			if final {
				status, action = StatusFailed, "delivery.failed"
			}
			if len(msg) > 1000 {
				msg = msg[:1000]
			}
		} else {
			sent = tx.Now()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $1, attempts = attempts + 1, last_error = $2, sent_at = $3,
			updated_at = $4 WHERE org_id = $5 AND id = $6`, status, msg, sent, tx.Now(), d.OrgID, d.ID); err != nil {
			return fmt.Errorf("record delivery %s: %w", d.ID, err)
		}
		return tx.Record(ctx, action, "delivery", d.ID, map[string]any{"status": d.Status},
			map[string]any{"status": status, "attempt": d.Attempts + 1, "error": msg})
	})
}

// webhookBody is the JSON a channel receives. Slack-compatible channels
// get text (the fallback shown in notifications) and blocks; generic ones
// get the fields by name.
func webhookBody(d Delivery) ([]byte, error) {
	if d.Channel == ChannelSlack {
		esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
		text := "*" + esc.Replace(d.Subject) + "*\n" + esc.Replace(d.Body)
		if len(text) > 2900 { // a section's text is limited to 3000 characters
			text = text[:2900] + "…"
		}
		return json.Marshal(map[string]any{
			"text": d.Subject,
			"blocks": []any{
				map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}},
				map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "Attest · " + d.Event}}},
			},
		})
	}
	return json.Marshal(map[string]any{
		"event": d.Event, "subject": d.Subject, "text": d.Body, "task_id": d.TaskID,
		"delivery_id": d.ID, "org_id": d.OrgID, "created_at": d.CreatedAt,
	})
}

func (s *Sender) post(ctx context.Context, target string, body []byte) error {
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return jobs.Permanent(errors.New("the channel URL is not usable"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Attest")
	resp, err := client.Do(req)
	if err != nil {
		// The URL is a secret: say which host failed, not the whole URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode/100 != 2 {
		// The start of the answer, on one line, says what the target
		// objected to without flooding the delivery log.
		said := strings.Join(strings.Fields(string(snippet)), " ")
		if len(said) > 200 {
			said = said[:200] + "…"
		}
		err := fmt.Errorf("%s answered %d %s: %s", req.URL.Host, resp.StatusCode, http.StatusText(resp.StatusCode), said)
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusUnauthorized ||
			resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest {
			// The target will not change its mind by itself; a person
			// fixes the channel and retries by hand.
			return jobs.Permanent(err)
		}
		return err
	}
	return nil
}

// sendEmail speaks SMTP: EHLO, STARTTLS when offered (or TLS from the
// start for smtps), AUTH PLAIN when a user is set, then one message.
func (s *Sender) sendEmail(ctx context.Context, d Delivery) error {
	cfg := s.SMTP
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	addr := net.JoinHostPort(cfg.Host, cfg.Port)
	dialer := &net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to mail server %s: %w", addr, err)
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	tlsCfg := cfg.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	if cfg.ImplicitTLS {
		conn = tls.Client(conn, tlsCfg)
	}
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail server %s: %w", addr, err)
	}
	defer c.Close()
	helo := s.Hostname
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return fmt.Errorf("mail server %s: EHLO: %w", addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !cfg.ImplicitTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("mail server %s: STARTTLS: %w", addr, err)
		}
	}
	if cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return jobs.Permanent(fmt.Errorf("mail server %s does not offer AUTH but a user name is set", addr))
		}
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)); err != nil {
			return fmt.Errorf("mail server %s: AUTH: %w", addr, err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return smtpFailure(fmt.Errorf("mail server %s: MAIL FROM: %w", addr, err))
	}
	if _, err := parseAddr(d.Target); err != nil {
		return jobs.Permanent(fmt.Errorf("recipient %q is not an address", d.Target))
	}
	if err := c.Rcpt(d.Target); err != nil {
		return smtpFailure(fmt.Errorf("mail server %s: RCPT TO %s: %w", addr, d.Target, err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail server %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(s.message(d)); err != nil {
		return fmt.Errorf("mail server %s: write message: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return smtpFailure(fmt.Errorf("mail server %s: message refused: %w", addr, err))
	}
	if err := c.Quit(); err != nil {
		// The message was accepted at the end of DATA; a failed QUIT does
		// not unsend it.
		return nil
	}
	return nil
}

// smtpFailure makes a 5xx reply permanent: the server has said the
// message will never be accepted as it is, while 4xx replies and network
// errors are worth retrying.
func smtpFailure(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return jobs.Permanent(err)
	}
	return err
}

// message is the RFC 5322 message: headers encoded so that no value can
// inject another header, body as quoted-printable UTF-8 text.
func (s *Sender) message(d Delivery) []byte {
	var b bytes.Buffer
	clean := strings.NewReplacer("\r", " ", "\n", " ")
	var rnd [8]byte
	rand.Read(rnd[:])
	host := s.Hostname
	if host == "" {
		host = "attest.invalid"
	}
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", clean.Replace(s.SMTP.From))
	hdr("To", clean.Replace(d.Target))
	hdr("Subject", mime.QEncoding.Encode("utf-8", clean.Replace(d.Subject)))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+d.ID+"."+hex.EncodeToString(rnd[:])+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Attest-Delivery", d.ID+"; attempt="+strconv.Itoa(d.Attempts+1))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(d.Body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}
