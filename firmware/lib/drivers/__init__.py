"""One chip per module. Drivers take ready-made Pin/PWM/I2C objects, never pin numbers."""
