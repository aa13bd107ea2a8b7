import json
import pathlib
import unittest

from seatwise_pass import PassRefused, verify_pass

V = json.loads((pathlib.Path(__file__).parent.parent / "vectors.json").read_text())


class VerifyPass(unittest.TestCase):
    def test_a_pass_signed_by_seatwise_verifies_before_its_expiry_only(self):
        self.assertEqual(verify_pass(V["valid"], [V["key"]], V["now"]), {"scope": V["scope"], "ticket": V["ticket"], "exp": V["exp"]})
        with self.assertRaisesRegex(PassRefused, "expired"):
            verify_pass(V["valid"], [V["key"]], V["exp"])

    def test_the_previous_key_still_verifies_while_keys_rotate(self):
        self.assertEqual(verify_pass(V["valid"], ["another key of at least 32 characters!", V["key"]], V["now"])["ticket"], V["ticket"])

    def test_forged_tampered_and_foreign_passes_are_refused_saying_why(self):
        with self.assertRaisesRegex(PassRefused, "signature"):
            verify_pass(V["forged"], [V["key"]], V["now"])
        with self.assertRaisesRegex(PassRefused, "key id"):
            verify_pass(V["valid"], ["a different key of 32 characters or more"], V["now"])
        with self.assertRaisesRegex(PassRefused, "two base64url parts"):
            verify_pass("nonsense", [V["key"]], V["now"])


if __name__ == "__main__":
    unittest.main()
