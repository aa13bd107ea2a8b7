package seatwisepass

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

type vectors struct {
	Key, Scope, Ticket, Valid, Forged string
	Exp, Now                          int64
}

func load(t *testing.T) vectors {
	var v vectors
	raw, err := os.ReadFile("../vectors.json")
	if err != nil || json.Unmarshal(raw, &v) != nil {
		t.Fatalf("vectors: %v", err)
	}
	return v
}

func refused(t *testing.T, err error, why string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), why) {
		t.Fatalf("want refused for %q, got %v", why, err)
	}
}

func TestAPassSignedBySeatwiseVerifiesBeforeItsExpiryOnly(t *testing.T) {
	v := load(t)
	c, err := Verify(v.Valid, []string{v.Key}, v.Now)
	if err != nil || c != (Claims{Scope: v.Scope, Ticket: v.Ticket, Exp: v.Exp}) {
		t.Fatalf("%v %v", c, err)
	}
	_, err = Verify(v.Valid, []string{v.Key}, v.Exp)
	refused(t, err, "expired")
}

func TestThePreviousKeyStillVerifiesWhileKeysRotate(t *testing.T) {
	v := load(t)
	if _, err := Verify(v.Valid, []string{"another key of at least 32 characters!", v.Key}, v.Now); err != nil {
		t.Fatal(err)
	}
}

func TestForgedTamperedAndForeignPassesAreRefusedSayingWhy(t *testing.T) {
	v := load(t)
	_, err := Verify(v.Forged, []string{v.Key}, v.Now)
	refused(t, err, "signature")
	_, err = Verify(v.Valid, []string{"a different key of 32 characters or more"}, v.Now)
	refused(t, err, "key id")
	_, err = Verify("nonsense", []string{v.Key}, v.Now)
	refused(t, err, "two base64url parts")
}
