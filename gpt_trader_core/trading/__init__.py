"""Paper and live trading: one engine drives the strategy's newest-bar decision through a Broker."""
