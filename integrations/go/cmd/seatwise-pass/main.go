// Command seatwise-pass checks one pass: SEATWISE_PASS_KEY=… [SEATWISE_GATEWAY=url] seatwise-pass <pass>.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"seatwise.example/seatwisepass"
)

func main() {
	var keys []string
	for _, k := range []string{os.Getenv("SEATWISE_PASS_KEY"), os.Getenv("SEATWISE_PASS_KEY_PREVIOUS")} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	pass := ""
	if len(os.Args) > 1 {
		pass = os.Args[1]
	}
	c, err := seatwisepass.Verify(pass, keys, 0)
	if err == nil && os.Getenv("SEATWISE_GATEWAY") != "" {
		err = seatwisepass.VerifyOnline(os.Getenv("SEATWISE_GATEWAY"), pass)
	}
	if err != nil {
		out, _ := json.Marshal(map[string]any{"valid": false, "reason": err.Error()})
		fmt.Println(string(out))
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]any{"valid": true, "scope": c.Scope, "ticket": c.Ticket, "exp": c.Exp})
	fmt.Println(string(out))
}
