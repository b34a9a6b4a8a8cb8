"""The Kandig neighbourhood hub (``kampung hub``): broker configuration, the hub that records the
houses' MQTT traffic in SQLite, and the RT head's web dashboard. Guide: docs/kandig-hub.md.

- ``protocol``: names, topics and payload checks of docs/kandig-protocol.md
- ``brokerconf``: Mosquitto config, password file and ACL; ``start_mosquitto(dir)``
- ``db``: the SQLite store; ``auth``: the dashboard login; ``web``: the dashboard
- ``app.Hub``: the hub itself; ``cli``: the command
"""
