// Package seatwisepass checks a Seatwise admission pass (docs/PROTOCOL.md, "Admission pass"): offline by
// its signature, key id and expiry; online (the session is still live) by asking a gateway. Standard
// library only.
package seatwisepass

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Claims is what a valid pass says.
type Claims struct {
	Scope  string `json:"scope"`
	Ticket string `json:"ticket"`
	Exp    int64  `json:"exp"`
}

var ticketRe = regexp.MustCompile(`^\d+\.\d+\.[0-9a-f]{16}$`)

func mac(key, text string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(text))
	return m.Sum(nil)
}

// KeyID is the key id a pass names: the first 8 characters of base64url(HMAC-SHA256(key, "seatwise-key-id")).
func KeyID(key string) string {
	return base64.RawURLEncoding.EncodeToString(mac(key, "seatwise-key-id"))[:8]
}

// Verify checks a pass offline with the pass keys (current first, then previous ones while they rotate)
// at nowMs (ms since the epoch; 0 = now). The error says why a pass is refused.
func Verify(pass string, keys []string, nowMs int64) (Claims, error) {
	if nowMs == 0 {
		nowMs = time.Now().UnixMilli()
	}
	parts := strings.Split(pass, ".")
	if len(parts) != 2 {
		return Claims{}, errors.New(`not a pass: two base64url parts joined by "."`)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	var c struct {
		Claims
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return Claims{}, errors.New("the first part is not a pass")
	}
	key := ""
	for _, k := range keys {
		if KeyID(k) == c.Kid {
			key = k
			break
		}
	}
	if key == "" {
		return Claims{}, errors.New("signed with a key this site does not have (unknown key id)")
	}
	got, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !hmac.Equal(got, mac(key, parts[0])) {
		return Claims{}, errors.New("the signature does not match")
	}
	if nowMs >= c.Exp {
		return Claims{}, errors.New("this pass has expired")
	}
	if !ticketRe.MatchString(c.Ticket) || c.Scope == "" {
		return Claims{}, errors.New("the pass names no ticket")
	}
	return c.Claims, nil
}

// VerifyOnline asks the gateway whether the ticket is still admitted with a live session now.
func VerifyOnline(gatewayURL, pass string) error {
	body, _ := json.Marshal(map[string]string{"pass": pass})
	r, err := http.Post(strings.TrimRight(gatewayURL, "/")+"/v1/passes/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(r.Body).Decode(&e)
		if e.Message == "" {
			e.Message = fmt.Sprintf("the gateway answered %d", r.StatusCode)
		}
		return errors.New(e.Message)
	}
	return nil
}
