"""Stand-in for the bundled aws-xray-sdk package (only its place in the asset matters at synth)."""
