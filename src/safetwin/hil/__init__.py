"""Hardware-in-the-loop bench: the battery plant on one side of a CAN link, the controller
firmware (firmware_sim/) on the other. See hil/README.md."""
